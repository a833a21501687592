"""Command line: arguments → load → validate → run."""
from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from erasure import __version__
from erasure.logs import console_logging

if TYPE_CHECKING:  # imported where used: --version and --help need no torch
    from erasure.config.overrides import Override

EXIT_FAILED = 1
EXIT_CONFIG = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="erasure", description="Run a machine-unlearning experiment described by a JSONC config.",
        epilog="'erasure report RUN_DIR' rebuilds the tables and plots of a run; 'erasure "
               "evaluate RUN_DIR' measures its saved models again; 'erasure list [KIND]' shows "
               "the components and their parameters; 'erasure schema' writes the config's JSON "
               "Schema, for editors.")
    parser.add_argument("config", help="the experiment's JSONC config file")
    parser.add_argument("--output", help="results folder, relative to the working folder "
                                         "(sets globals.output; default: output/<config name>)")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, help="override globals.seed (and globals.seeds)")
    seeds.add_argument("--seeds", type=int, nargs="+", metavar="N",
                        help="run the experiment once per seed (sets globals.seeds); the summary "
                             "aggregates them")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", dest="sets",
                        help="override one config value, e.g. predictor.parameters.epochs=3; "
                             "a list of components by index or by name, e.g. "
                             "unlearners.Finetuning.parameters.epochs=2 (repeatable; VALUE is "
                             "read as JSON5, else as a string)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in the output folder: keep its finished records, "
                             "run the missing ones")
    parser.add_argument("--cache-dir", help="model cache folder, relative to the working folder "
                                            "(sets globals.cache_dir; over $ERASURE_CACHE_DIR)")
    parser.add_argument("--device", metavar="DEVICE",
                        help="override globals.device: auto, cpu, cuda, cuda:N (the GPU of "
                             "index N) or mps")
    tune = parser.add_mutually_exclusive_group()
    tune.add_argument("--tune", action="store_const", const=True, dest="tune",
                      help="tune every unlearner that has something to tune, toward the gold "
                           "model (its 'tune' block, else 20 trials; sets globals.tune)")
    tune.add_argument("--no-tune", action="store_const", const=False, dest="tune",
                      help="tune no unlearner: each runs with its configured values")
    parser.add_argument("--executor", choices=["local", "ray"],
                        help="where the work runs: 'local' (this process) or 'ray' (one task per "
                             "seed's models and per record, on a Ray cluster; needs "
                             "erasure[ray]); sets globals.executor")
    parser.add_argument("--address", help="join this Ray cluster ('auto' or host:port; implies "
                                          "--executor ray; sets globals.address); without it "
                                          "the ray executor starts a local instance")
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
    add_plot_flags(parser, "write the summary tables but no plots ('report RUN_DIR' draws "
                           "them later)")
    add_track_flags(parser)
    add_verbosity_flags(parser)
    parser.add_argument("--version", action="version", version=f"erasure {__version__}")
    return checked_verbosity(parser, parser.parse_args(argv))


def add_verbosity_flags(parser: argparse.ArgumentParser) -> None:
    """``-q``, ``-v`` and ``--debug``, shared by a run and ``evaluate``."""
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="warnings and errors only: no progress bars, no per-record lines")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="erasure's debug lines too")
    parser.add_argument("--debug", action="store_true",
                        help="as --verbose, and show the traceback of an error")


def checked_verbosity(parser: argparse.ArgumentParser,
                      args: argparse.Namespace) -> argparse.Namespace:
    """``args``, unless ``--quiet`` comes with ``--verbose`` or ``--debug``: a usage error
    (exit 2)."""
    if args.quiet and (args.verbose or args.debug):
        parser.error("--quiet cannot be combined with --verbose or --debug")
    return args


def console(args: argparse.Namespace) -> bool:
    """Sets up the console for ``args``' verbosity (:func:`erasure.logs.console_logging`);
    returns whether progress bars are drawn: on a terminal, unless ``--quiet`` (piped into a
    file, the per-record log lines tell the progress instead)."""
    bars = not args.quiet and sys.stderr.isatty()
    console_logging(quiet=args.quiet, verbose=args.verbose or args.debug, bars=bars)
    return bars


def say(text: str = "") -> None:
    """Prints ``text`` and a newline on stdout — what a command shows (tables, paths) — at once.
    When the reader has gone (``report RUN | head -1``), stdout is pointed at ``os.devnull``, as
    Python's documentation on SIGPIPE advises: the rest of the output is dropped, with no
    BrokenPipeError traceback, and the command goes on to its own exit status (0 for a report
    without ``--track``)."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _plot_formats(text: str) -> tuple[str, ...]:
    from erasure.results.plots import plot_formats

    try:
        return plot_formats(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_plot_flags(parser: argparse.ArgumentParser, no_plots_help: str) -> None:
    """``--no-plots`` and ``--plot-format``, shared by a run, ``report`` and ``evaluate``: one or
    the other (both together are a usage error, exit 2)."""
    plots = parser.add_mutually_exclusive_group()
    plots.add_argument("--no-plots", action="store_true", help=no_plots_help)
    plots.add_argument("--plot-format", type=_plot_formats, metavar="FORMATS",
                       help="the plots' file formats, comma-separated: png, pdf, svg "
                            "(default: png)")


def config_error(error: Exception, debug: bool) -> int:
    """Prints a config problem as one ``error:`` message on stderr and gives the exit status
    (2); with ``--debug`` raises it again instead, for its traceback."""
    if debug:
        raise error
    print(f"error: {error}", file=sys.stderr)
    return EXIT_CONFIG


def add_track_flags(parser: argparse.ArgumentParser) -> None:
    """``--track`` and its options, shared by a run and ``report``."""
    parser.add_argument("--track", action="append", metavar="NAME",
                        help="log the finished run to an experiment tracker: 'mlflow' or "
                             "'tensorboard' (repeatable, or a comma list; needs erasure[mlflow] "
                             "/ erasure[tensorboard])")
    parser.add_argument("--track-experiment", metavar="NAME",
                        help="the MLflow experiment (default: the config file's name)")
    parser.add_argument("--track-dir", metavar="DIR",
                        help="TensorBoard's log folder (default: RUN_DIR/tensorboard)")


def trackers(args: argparse.Namespace) -> list[str]:
    """The trackers ``--track`` names, their packages imported (so that a missing one stops the
    command before any work). Raises TrackingError."""
    from erasure.tracking import check, parse

    names = parse(args.track)
    check(names)
    return names


def log_to_trackers(names: list[str], document: dict, run_dir: Path,
                    args: argparse.Namespace) -> int:
    """Logs a run to each named tracker; prints where. Returns 0, or 1 when a tracker failed
    (the others still log; the results on disk are untouched; the message says how to retry)."""
    from erasure.tracking import track

    failed = []
    for name in names:
        try:
            lines = track([name], document, run_dir, experiment=args.track_experiment,
                          folder=args.track_dir)
        except Exception as e:
            if args.debug:
                raise
            print(f"error: logging to {name} failed: {type(e).__name__}: {e}", file=sys.stderr)
            failed.append(name)
            continue
        for line in lines:
            say(line)
    if failed:
        print(f"(the results are safe in {run_dir}; retry with 'python main.py report {run_dir} "
              f"--no-plots --track {','.join(failed)}')", file=sys.stderr)
        return EXIT_FAILED
    return 0


def flag_overrides(args: argparse.Namespace, config: object) -> list[Override]:
    """The ``globals`` values the flags set in ``config``, as overrides to apply after ``--set``
    (a flag wins). None for a config whose ``globals`` is not an object: prepare() reports that
    section, not the flags.

    Folders on the command line are relative to the working folder, so they go into the config
    absolute (a config's own folders are relative to the config file)."""
    from erasure.config.overrides import Override

    if not (isinstance(config, dict) and isinstance(config.get("globals", {}), dict)):
        return []
    found = []
    if args.seed is not None:  # one seed replaces the config's list of seeds
        found += [Override("globals.seed", args.seed, "--seed"),
                  Override("globals.seeds", None, "--seed")]
    executor = args.executor or ("ray" if args.address is not None else None)
    for flag, key, value in [("--seeds", "seeds", args.seeds), ("--device", "device", args.device),
                             ("--executor" if args.executor else "--address", "executor", executor),
                             ("--address", "address", args.address),
                             ("--allow-module", "allowed_modules", args.allow_modules),
                             ("--tune" if args.tune else "--no-tune", "tune", args.tune)]:
        if value is not None:
            found.append(Override(f"globals.{key}", value, flag))
    for flag, key, value in [("--output", "output", args.output),
                             ("--cache-dir", "cache_dir", args.cache_dir)]:
        if value is not None:
            folder = Path.cwd() / Path(value).expanduser()
            found.append(Override(f"globals.{key}", str(folder), flag))
    return found


def command() -> NoReturn:
    """The ``erasure`` command and ``python main.py``: :func:`main`, then :func:`exit_now`."""
    exit_now(main())


def exit_now(status: int) -> NoReturn:
    """Ends the process with ``status`` once its work is done, skipping the interpreter's
    teardown: the ``atexit`` handlers run (logging flushes and closes its files) and the standard
    streams are flushed, but the interpreter does not free its objects one by one, which with
    torch imported costs a noticeable part of a short run. Only for a process that ends here (the
    command line, benchmarks): code that calls :func:`main` itself goes on normally. Anything
    that must happen at exit registers with ``atexit``."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken: nothing more can reach it
            pass
    os._exit(status)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python main.py`` and the ``erasure`` command. Returns the exit status:
    0 done; 1 with ``--strict`` when a record or a measure failed, or when the results could not
    be written (disk full…), or when a ``--track`` tracker failed (the results kept); 2 a
    problem with the config or an unknown or missing tracker (nothing was trained or written);
    130/143 stopped by SIGINT/SIGTERM (finished records kept)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["report"]:
        return report(argv[1:])
    if argv[:1] == ["evaluate"]:
        return evaluate(argv[1:])
    if argv[:1] == ["schema"]:
        return schema(argv[1:])
    if argv[:1] == ["list"]:
        return list_components(argv[1:])
    args = parse_args(argv)
    bars = console(args)  # the run's log file still gets INFO, whatever the console shows
    from erasure import progress
    from erasure.config import ConfigError, load_config
    from erasure.config.overrides import apply_overrides
    from erasure.plan import prepare
    from erasure.results import summary_table
    from erasure.runner import Interrupted, OutputFailed, run
    from erasure.tracking import TrackingError

    try:
        track = trackers(args)
    except TrackingError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        config = apply_overrides(load_config(args.config), args.sets)
        config = apply_overrides(config, flag_overrides(args, config))
        plan = prepare(config, config_file=args.config)
        if args.validate:
            say(f"{args.config}: valid ({len(plan.unlearners)} unlearners, "
                f"{len(plan.evaluator.measures)} measures)")
            return 0
        with progress.showing(bars):
            results = run(plan, overwrite=args.overwrite, resume=args.resume, report=True,
                          plots=not args.no_plots, plot_formats=args.plot_format)
    except ConfigError as e:
        return config_error(e, args.debug)
    except Interrupted as e:
        if e.results is not None:
            say(summary_table(json.loads(Path(e.results).read_text())))
            say(f"\nresults so far: {e.results}")
        print(f"{e}", file=sys.stderr)
        return e.exit_status
    except OutputFailed as e:
        kept = f"; the last results written are in {e.results}" if e.results else ""
        print(f"error: {e}{kept}", file=sys.stderr)
        return EXIT_FAILED
    document = json.loads(Path(results).read_text())
    say(summary_table(document, references=True))
    say(f"\nresults: {results}")
    if track and log_to_trackers(track, document, Path(results).parent, args):
        return EXIT_FAILED
    failed = [r["name"] for r in document["records"]
              if r["status"] != "finished" or r["failed_measures"]]
    if failed and args.strict:
        print(f"error (--strict): failures in {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def report(argv: list[str]) -> int:
    """``python main.py report RUN_DIR``: rebuilds the summary tables and plots of a finished (or
    interrupted) run from its results.json, and prints the summary; with ``--track``, then logs
    the run to the trackers."""
    parser = argparse.ArgumentParser(
        prog="erasure report", description="Rebuild the tables and plots of a run from its results.")
    parser.add_argument("run_dir", help="a run folder holding results.json")
    parser.add_argument("--metrics", nargs="+", metavar="KEY",
                        help="the metric keys to show ('all' for every metric; default: the key "
                             "metrics present)")
    add_plot_flags(parser, "tables only")
    add_track_flags(parser)
    parser.add_argument("--debug", action="store_true", help="show a tracker's traceback")
    args = parser.parse_args(argv)
    from erasure.results.rebuild import ResultsError, load_results, rebuild
    from erasure.tracking import TrackingError

    metrics = None if not args.metrics else "all" if args.metrics == ["all"] else args.metrics
    try:
        track = trackers(args)
        say(rebuild(Path(args.run_dir), metrics=metrics, plots=not args.no_plots,
                    plot_formats=args.plot_format))
    except (ResultsError, TrackingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    if track:
        run_dir = Path(args.run_dir)
        run_dir = run_dir.parent if run_dir.is_file() else run_dir
        return log_to_trackers(track, load_results(run_dir), run_dir, args)
    return 0


def evaluate(argv: list[str]) -> int:
    """``python main.py evaluate RUN_DIR [--config MEASURES.jsonc]``: measures the models a run
    saved (``globals.save_models``) again — with its own measures or new ones — and adds the new
    metrics to its records (:mod:`erasure.evaluate`); prints the summary."""
    parser = argparse.ArgumentParser(
        prog="erasure evaluate",
        description="Measure the saved models of a run again and add the new metrics to its "
                    "results (numbers already there are kept).")
    parser.add_argument("run_dir", help="a run folder whose run saved its models")
    parser.add_argument("--config", metavar="MEASURES.jsonc",
                        help='a JSONC file holding {"measures": [...]} (default: the run\'s '
                             "own measures)")
    parser.add_argument("--seed", type=int, nargs="+", metavar="N", dest="seeds",
                        help="only the records of these seeds")
    add_plot_flags(parser, "rebuild the tables only")
    add_verbosity_flags(parser)
    args = checked_verbosity(parser, parser.parse_args(argv))
    bars = console(args)
    from erasure import progress
    from erasure.config import ConfigError
    from erasure.evaluate import evaluate as evaluate_run
    from erasure.results import summary_table

    try:
        with progress.showing(bars):
            results = evaluate_run(args.run_dir, args.config, seeds=args.seeds,
                                   plots=not args.no_plots, plot_formats=args.plot_format)
    except ConfigError as e:
        return config_error(e, args.debug)
    except OSError as e:
        print(f"error: cannot write the results: {e}", file=sys.stderr)
        return EXIT_FAILED
    say(summary_table(json.loads(Path(results).read_text()), references=True))
    say(f"\nresults: {results}")
    return 0


def schema(argv: list[str]) -> int:
    """``python main.py schema [--output FILE]``: writes the JSON Schema of a config
    (:mod:`erasure.schema`), for editors, to FILE or the standard output."""
    parser = argparse.ArgumentParser(
        prog="erasure schema",
        description="Write the JSON Schema (draft 2020-12) of a config, generated from the "
                    "registered components: editors complete and check configs with it (point "
                    'a config at it with "$schema": "FILE", or map files to it in the editor\'s '
                    "settings, e.g. VS Code's json.schemas).")
    parser.add_argument("--output", metavar="FILE", help="write it here (default: print it)")
    args = parser.parse_args(argv)
    from erasure.schema import json_schema

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        say(text.rstrip("\n"))
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"error: cannot write {args.output}: {e}", file=sys.stderr)
        return EXIT_FAILED
    say(f"schema: {args.output}")
    return 0


def list_components(argv: list[str]) -> int:
    """``python main.py list [KIND]``: the components a config may name by kind, or for one
    KIND (or one class) each class with its parameters (:mod:`erasure.catalog`)."""
    parser = argparse.ArgumentParser(
        prog="erasure list",
        description="List the components a config may name (unlearners, measures, networks, "
                    "data sources…); with KIND, each class of that kind with its parameters, "
                    "defaults and one-line docs.")
    parser.add_argument("kind", nargs="?", metavar="KIND",
                        help="a kind (unlearners, measures, optimizers…) or a class name")
    args = parser.parse_args(argv)
    from erasure.catalog import UnknownKind, main_list

    try:
        say(main_list(args.kind))
    except UnknownKind as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    return 0
