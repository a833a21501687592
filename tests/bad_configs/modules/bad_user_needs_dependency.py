"""A user's module that imports a package that is not installed: the error must name the missing
package, not claim that this module is missing."""
from __future__ import annotations

import erasure_no_such_dependency  # noqa: F401  (not installed anywhere, on purpose)


class MyUnlearner:
    pass
