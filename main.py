"""Run an experiment: ``python main.py configs/example.jsonc``. See ``--help``."""
from erasure.cli import command

if __name__ == "__main__":
    command()
