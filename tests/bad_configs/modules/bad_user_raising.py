"""A user's module whose import raises: the config naming a class in it must get a config error
that says which module failed and why, not a traceback."""
from __future__ import annotations

SETTINGS = {"hidden": 16}

raise RuntimeError("bad_user_raising could not read its settings file 'settings.ini'")
