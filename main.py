"""Run an experiment: ``python main.py configs/example.jsonc``. See ``--help``."""
from erasure.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
