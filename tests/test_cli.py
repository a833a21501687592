"""The command line (erasure/cli.py): exit status, messages, and what it writes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from erasure.cli import EXIT_CONFIG, command, flag_overrides, main, parse_args
from erasure.config import ConfigError
from erasure.config.overrides import apply_overrides
from erasure.plan import prepare
from tests.helpers import digits_config

ROOT = Path(__file__).resolve().parent.parent


def write_config(path: Path, config) -> Path:
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def bad_config() -> dict:
    """Two independent problems, each with its own place in the config."""
    config = digits_config(unlearners=[{"class": "Finetuning", "parameters": {"epoch": 3}}])
    config["evaluator"]["parameters"]["measures"][0]["parameters"]["partition"] = ["forgte"]
    return config


def small_config(epochs: int = 3) -> dict:
    return digits_config(epochs=epochs, model={"class": "MLP", "parameters": {"hidden": [32]}})


# -- a bad config ----------------------------------------------------------------------------

def test_bad_config_exits_2_with_every_problem_and_writes_nothing(tmp_path, capsys):
    config = write_config(tmp_path / "bad.json", bad_config())
    out = tmp_path / "results"
    status = main([str(config), "--output", str(out)])
    captured = capsys.readouterr()
    assert status == EXIT_CONFIG == 2
    assert captured.err.startswith("error: 2 problems in the config:")
    assert ("unlearners[0].parameters.epoch: Invalid parameter 'epoch' for Finetuning."
            in captured.err)
    assert "Did you mean 'epochs'?" in captured.err
    assert ("evaluator.parameters.measures[0].parameters.partition: unknown partition 'forgte'"
            in captured.err)
    assert "Did you mean 'forget'?" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""
    assert not out.exists()


def test_malformed_config_file_exits_2_with_line_and_column(tmp_path, capsys):
    config = tmp_path / "broken.jsonc"
    config.write_text('{\n  "globals": {"seed": 1}\n  "data": {}\n}\n')
    status = main([str(config), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert "malformed JSONC at line 3, column 3" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_config_file_exits_2(tmp_path, capsys):
    status = main([str(tmp_path / "nope.jsonc")])
    err = capsys.readouterr().err
    assert status == 2
    assert "config file not found" in err
    assert "nope.jsonc" in err


def test_unwritable_output_exits_2_before_loading_data(tmp_path, capsys):
    config = write_config(tmp_path / "exp.json", small_config())
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    status = main([str(config), "--output", str(blocker / "results"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 2
    assert "globals.output: cannot write results:" in err
    assert "is a file, not a folder" in err
    assert blocker.read_text() == "not a folder"


def data_problem_config() -> dict:
    # digits has no class 42: only loading the data can tell, and that happens before training
    config = digits_config(forget="class", epochs=1)
    config["data"]["parameters"]["partitions"][1]["parameters"]["classes"] = [42]
    return config


def test_data_problem_found_after_loading_exits_2_and_writes_nothing(tmp_path, capsys):
    path = write_config(tmp_path / "exp.json", data_problem_config())
    out = tmp_path / "results"
    status = main([str(path), "--output", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 2
    assert "  - data.parameters.partitions[1]: no sample of class [42] in partition 'train'" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_debug_reraises_the_config_error(tmp_path, capsys):
    config = write_config(tmp_path / "bad.json", bad_config())
    with pytest.raises(ConfigError) as e:
        main([str(config), "--output", str(tmp_path / "out"), "--debug"])
    assert [p.path for p in e.value.problems] == [
        "unlearners[0].parameters.epoch", "evaluator.parameters.measures[0].parameters.partition"]
    assert not (tmp_path / "out").exists()


def test_real_exit_status_of_main_py(tmp_path):
    config = write_config(tmp_path / "bad.json", bad_config())
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, "main.py", str(config), "--output", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "unlearners[0].parameters.epoch: Invalid parameter 'epoch' for Finetuning." in done.stderr
    assert "evaluator.parameters.measures[0].parameters.partition: unknown partition 'forgte'" in done.stderr
    assert done.stdout == ""
    assert not out.exists()


# -- --validate ------------------------------------------------------------------------------

def test_validate_a_valid_config_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default output folder is relative to the working directory
    config = write_config(tmp_path / "exp.json", digits_config(
        unlearners=[{"class": "Identity"}, {"class": "Finetuning"}]))
    status = main([str(config), "--validate"])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.out.strip() == f"{config}: valid (2 unlearners, 1 measures)"
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.json"]


def test_validate_with_an_output_folder_creates_nothing(tmp_path, capsys):
    config = write_config(tmp_path / "exp.json", digits_config())
    out = tmp_path / "results"
    assert main([str(config), "--validate", "--output", str(out)]) == 0
    assert "valid" in capsys.readouterr().out
    assert not out.exists()


def test_validate_a_bad_config_exits_2(tmp_path, capsys):
    config = write_config(tmp_path / "bad.json", bad_config())
    assert main([str(config), "--validate"]) == 2
    captured = capsys.readouterr()
    assert "valid" not in captured.out
    assert "unknown partition 'forgte'" in captured.err


def test_bad_arguments_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(tmp_path / "exp.json"), "--executor", "tpu"])
    assert e.value.code == 2
    assert "invalid choice: 'tpu'" in capsys.readouterr().err


def test_an_unknown_device_is_a_config_error_before_any_work(tmp_path, capsys):
    config = write_config(tmp_path / "exp.json", digits_config())
    assert main([str(config), "--device", "tpu", "--output", str(tmp_path / "out")]) == 2
    assert "globals.device: 'tpu' is not a device" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- flags are config overrides -------------------------------------------------------------

def overridden(config: dict, *argv: str) -> dict:
    """``config`` as the command line hands it to prepare(): ``argv``'s --set, then its flags."""
    args = parse_args(["exp.json", *argv])
    config = apply_overrides(config, args.sets)
    return apply_overrides(config, flag_overrides(args, config))


def test_flags_set_globals_after_set_so_a_flag_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = digits_config(seed=1)
    config["globals"].update(device="auto", seeds=[3, 4], allowed_modules=["tests"])
    overridden(config, "--set", "globals.seed=5", "--set", "globals.device=cuda", "--seed", "42",
               "--device", "cpu", "--output", "out", "--cache-dir", "~/models",
               "--allow-module", "tests.unlearners", "--allow-module", "mylab")
    # command-line folders are relative to the working folder, so they go in absolute
    assert config["globals"] == {"seed": 42, "seeds": None, "device": "cpu",
                                 "allowed_modules": ["tests.unlearners", "mylab"],
                                 "output": str(tmp_path / "out"),
                                 "cache_dir": str(Path.home() / "models")}
    plan = prepare(config)
    assert plan.settings.all_seeds() == [42]  # --seed replaced the config's seeds
    assert plan.resolved["globals"]["device"] == "cpu"


def test_seeds_flag_replaces_seed_and_seeds():
    config = overridden(digits_config(seed=1), "--seeds", "5", "6")
    assert prepare(config).settings.all_seeds() == [5, 6]


def test_a_flag_into_a_config_without_globals():
    config = digits_config()
    del config["globals"]
    assert prepare(overridden(config, "--seed", "7")).settings.seed == 7


def test_no_flags_no_overrides():
    config = digits_config()
    assert overridden(config) == digits_config()


def test_a_bad_flag_value_is_reported_at_its_config_path(tmp_path, capsys, monkeypatch):
    import torch

    config = write_config(tmp_path / "exp.json", digits_config())
    assert main([str(config), "--seeds", "1", "1", "--validate"]) == 2
    assert "globals.seeds: seeds must differ, got [1, 1]" in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main([str(config), "--device", "cuda", "--validate"]) == 2
    assert "globals.device: device 'cuda' was asked for" in capsys.readouterr().err


def test_flags_on_a_config_whose_globals_is_no_object_report_the_config(tmp_path, capsys):
    bad = digits_config()
    bad["globals"] = [0]
    config = write_config(tmp_path / "exp.json", bad)
    assert main([str(config), "--seed", "3", "--output", str(tmp_path / "out"), "--validate"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: 1 problem in the config:",
                                "  - globals: 'globals' must be an object, not list"]


# -- a run -----------------------------------------------------------------------------------

def test_run_writes_results_and_never_overwrites_silently(tmp_path, capsys):
    config = write_config(tmp_path / "exp.json", small_config(epochs=3))
    out = tmp_path / "results"

    # first run: results.json in the folder asked for
    assert main([str(config), "--output", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    results = out / "results.json"
    assert f"results: {results}" in stdout
    assert "Identity" in stdout
    first = json.loads(results.read_text())
    assert first["status"] == "finished"
    assert first["seeds"] == [0]
    assert first["device"] == "cpu"
    assert first["config"]["unlearners"][0]["class"] == "erasure.unlearners.identity.Identity"
    assert first["partitions"]["all"] == 1797
    assert [r["name"] for r in first["records"]] == ["Identity"]
    record = first["records"][0]
    assert record["status"] == "finished"
    assert set(record["metrics"]) == {f"accuracy.{p}.{t}" for p in ("forget", "retain", "test")
                                      for t in ("original", "unlearned")}
    assert all(0.0 <= v <= 1.0 for v in record["metrics"].values())
    assert record["metrics"]["accuracy.test.unlearned"] > 0.5  # 3 epochs already learn digits
    first_text = results.read_text()

    # second run, same folder, no --overwrite: a new folder beside it, the first file untouched
    assert main([str(config), "--output", str(out), "--quiet"]) == 0
    assert f"results: {tmp_path / 'results-2' / 'results.json'}" in capsys.readouterr().out
    assert results.read_text() == first_text
    second = json.loads((tmp_path / "results-2" / "results.json").read_text())
    assert second["records"][0]["metrics"] == record["metrics"]  # same config, same seed

    # --overwrite replaces the file in place
    results.write_text('{"marker": true}')
    assert main([str(config), "--output", str(out), "--quiet", "--overwrite", "--seed", "1"]) == 0
    assert f"results: {results}" in capsys.readouterr().out
    third = json.loads(results.read_text())
    assert "marker" not in third
    assert third["seeds"] == [1]
    assert third["status"] == "finished"
    assert len(third["records"]) == 1
    assert not (tmp_path / "results-3").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.json", "results", "results-2"]


def test_erasure_console_command_is_installed_as_the_cli_entry_point():
    from importlib import metadata

    try:
        metadata.distribution("erasure")
    except metadata.PackageNotFoundError:
        pytest.skip("erasure is not pip-installed here (the README's commands install it)")
    (script,) = [e for e in metadata.entry_points(group="console_scripts") if e.name == "erasure"]
    assert script.value == "erasure.cli:command"  # main(), then the fast exit, as main.py
    assert script.load() is command


def test_seeds_set_cache_dir_report_and_resume_from_the_command_line(tmp_path, capsys):
    config = write_config(tmp_path / "exp.json", small_config(epochs=3))
    out, cache = tmp_path / "run", tmp_path / "cache"
    argv = [str(config), "--output", str(out), "--seeds", "0", "1", "--cache-dir", str(cache),
            "--set", "unlearners[0].name=Untouched", "--set", "predictor.parameters.epochs=2"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    doc = json.loads((out / "results.json").read_text())
    assert doc["seeds"] == [0, 1] and [r["seed"] for r in doc["records"]] == [0, 1]
    assert doc["config"]["predictor"]["parameters"]["epochs"] == 2
    assert [r["name"] for r in doc["records"]] == ["Untouched", "Untouched"]
    assert len(list(cache.rglob("*.pt"))) == 2  # one original per seed, in --cache-dir
    # no progress bars: stderr is no terminal here (tests/test_output.py has one); the summary
    # with the reference rows on stdout
    assert "%|" not in captured.err and "\r" not in captured.err
    assert "Untouched" in captured.out and "original" in captured.out
    # the tables and plots of the run are beside the results
    assert {"summary.csv", "summary.md", "run.log", "plots"} <= {p.name for p in out.iterdir()}

    # `report` rebuilds them from results.json alone
    (out / "summary.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "summary.md").exists() and "Untouched" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "error:" in capsys.readouterr().err

    # --resume on a finished run runs nothing and keeps the records
    before = json.loads((out / "results.json").read_text())["records"]
    assert main([*argv, "--resume", "--quiet"]) == 0
    assert json.loads((out / "results.json").read_text())["records"] == before
    assert not (tmp_path / "run-2").exists()


def test_a_bad_override_exits_2(tmp_path, capsys):
    config = write_config(tmp_path / "exp.json", small_config(epochs=3))
    assert main([str(config), "--set", "unlearners.5.parameters.epochs=1", "--validate"]) == 2
    assert "--set unlearners.5.parameters.epochs=1: unlearners is a list of 1" in capsys.readouterr().err


def test_quiet_shows_warnings_only_but_the_log_file_has_everything(tmp_path):
    config = write_config(tmp_path / "exp.json", small_config(epochs=2))
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "main.py", str(config), "--output", str(out), "--quiet",
                           "--no-plots"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert " INFO " not in done.stderr and "%|" not in done.stderr
    assert "record 1/1" not in done.stderr  # no per-record line either
    log = (out / "run.log").read_text()
    assert " INFO erasure.experiment: unlearner Identity" in log
    assert " INFO erasure.runner: record 1/1: Identity seed 0 finished in " in log
    # --no-plots: the tables, no plot, and the log says why
    assert (out / "summary.csv").is_file() and (out / "summary.md").is_file()
    assert not (out / "plots").exists()
    assert "no plots (not asked for)" in log, log
    # report with every metric, tables only
    assert main(["report", str(out), "--metrics", "all", "--no-plots"]) == 0
    assert not (out / "plots").exists()
    header = (out / "summary.csv").read_text().splitlines()[0]
    assert "accuracy.forget.unlearned:mean" in header


def test_the_command_line_ends_without_teardown_yet_loses_nothing(tmp_path):
    """exit_now: the status is kept, atexit handlers run, log files and unterminated output are
    flushed — only the interpreter's freeing of its objects is skipped."""
    script = f"""
import atexit, logging, sys, torch
from pathlib import Path
from erasure.cli import exit_now
atexit.register(lambda: Path({str(tmp_path / "atexit")!r}).write_text("ran"))
logging.basicConfig(filename={str(tmp_path / "log")!r}, level=logging.INFO)
logging.getLogger("x").info("logged")
sys.stdout.write("no newline")
sys.stderr.write("on stderr")
exit_now(3)
raise AssertionError("never reached")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 3
    assert done.stdout == "no newline" and done.stderr == "on stderr"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert "logged" in (tmp_path / "log").read_text()


def test_seed_and_seeds_together_are_refused(capsys):
    with pytest.raises(SystemExit) as e:
        parse_args(["configs/example.jsonc", "--seed", "1", "--seeds", "2", "3"])
    assert e.value.code == 2
    assert "argument --seeds: not allowed with argument --seed" in capsys.readouterr().err
