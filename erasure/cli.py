"""Command line: arguments → load → validate → run."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from erasure import __version__

EXIT_FAILED = 1
EXIT_CONFIG = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="erasure", description="Run a machine-unlearning experiment described by a JSONC config.")
    parser.add_argument("config", help="the experiment's JSONC config file")
    parser.add_argument("--output", help="results folder (default: globals.output, else "
                                         "output/<config name>)")
    parser.add_argument("--seed", type=int, help="override globals.seed")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], help="override globals.device")
    parser.add_argument("--validate", action="store_true",
                        help="check the config and exit without loading data or training")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing results in the output folder instead of using a "
                             "new folder beside it")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when an unlearner or a measure failed (the "
                             "failures are recorded either way)")
    parser.add_argument("--allow-module", action="append", metavar="PREFIX", dest="allow_modules",
                        help="import classes named by dotted path only from this module prefix "
                             "(repeatable; erasure, torch and torchvision always); replaces "
                             "globals.allowed_modules — for configs you did not write")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    parser.add_argument("--version", action="version", version=f"erasure {__version__}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python main.py`` and the ``erasure`` command. Returns the exit status:
    0 done; 1 with ``--strict`` when a record or a measure failed; 2 a problem with the config
    (nothing was trained or written); 130/143 stopped by SIGINT/SIGTERM (finished records kept)."""
    args = parse_args(argv)
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    from erasure.config import ConfigError, load_config
    from erasure.experiment import Interrupted, prepare, run
    from erasure.results import summary_table

    try:
        config = load_config(args.config)
        plan = prepare(config, config_file=args.config, seed=args.seed, device=args.device,
                       allow_modules=args.allow_modules)
        if args.validate:
            print(f"{args.config}: valid ({len(plan.unlearners)} unlearners, "
                  f"{len(plan.evaluator.measures)} measures)")
            return 0
        results = run(plan, output=args.output, overwrite=args.overwrite)
    except ConfigError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except Interrupted as e:
        if e.results is not None:
            print(summary_table(json.loads(Path(e.results).read_text())))
            print(f"\nresults so far: {e.results}")
        print(f"{e}", file=sys.stderr)
        return e.exit_status
    document = json.loads(Path(results).read_text())
    print(summary_table(document))
    print(f"\nresults: {results}")
    failed = [r["name"] for r in document["records"]
              if r["status"] != "finished" or r["failed_measures"]]
    if failed and args.strict:
        print(f"error (--strict): failures in {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAILED
    return 0
