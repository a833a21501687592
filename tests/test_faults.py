"""Faults during a run: failures are recorded (and fatal only with --strict), SIGINT/SIGTERM leave
valid results with the missing records named, and a config imports only what it is allowed to."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from erasure.cli import main
from erasure.config import ConfigError
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.pipeline_fixtures import component

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, config: dict) -> Path:
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def faulty_config() -> dict:
    return digits_config(
        epochs=2,
        unlearners=[{"class": "Identity"}, component("Raising"), {"class": "Finetuning",
                                                                  "parameters": {"epochs": 1}}],
        measures=[{"class": "Accuracy", "parameters": {"partition": "test"}},
                  component("RaisingMeasure")])


@pytest.mark.parametrize("strict, status", [(False, 0), (True, 1)])
def test_failures_are_recorded_and_fatal_only_with_strict(tmp_path, capsys, strict, status):
    config = write(tmp_path / "faulty.json", faulty_config())
    out = tmp_path / "out"
    assert main([str(config), "--output", str(out), "--quiet", *(["--strict"] if strict else [])]) == status
    doc = json.loads((out / "results.json").read_text())
    records = {r["name"]: r for r in doc["records"]}
    assert doc["status"] == "finished"
    assert records["Raising"]["status"] == "failed"
    assert records["Raising"]["error"] == "RuntimeError: deliberate failure"
    for name in ("Identity", "Finetuning"):
        # the other records are complete: the failing measure is recorded, the others report
        assert records[name]["status"] == "finished"
        assert records[name]["failed_measures"] == {"RaisingMeasure[1]": "ValueError: measure exploded"}
        assert 0.5 < records[name]["metrics"]["accuracy.test.unlearned"] <= 1.0
    captured = capsys.readouterr()
    assert "failed: Raising: RuntimeError: deliberate failure" in captured.out
    if strict:
        assert "error (--strict): failures in Identity, Raising, Finetuning" in captured.err
    else:
        assert "--strict" not in captured.err


def slow_config() -> dict:
    sleepy = {"class": "tests.unlearners.fixtures.Sleepy", "parameters": {"seconds": 0.6}}
    return digits_config(epochs=1, unlearners=[
        {"name": f"step{i}", **sleepy} for i in range(8)],
        measures=[{"class": "Accuracy", "parameters": {"partition": "test"}}])


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_leaves_valid_results_and_names_the_missing_records(tmp_path, sig, status):
    config = write(tmp_path / "slow.json", slow_config())
    out = tmp_path / "out"
    results = out / "results.json"
    process = subprocess.Popen([sys.executable, "main.py", str(config), "--output", str(out), "--quiet"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if results.exists() and json.loads(results.read_text())["records"]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("no record was written within 120 s")
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, stderr
    assert "Traceback" not in stderr
    doc = json.loads(results.read_text())  # valid JSON
    assert doc["status"] == "interrupted" and doc["interrupted_by"] == sig.name
    done = [r["name"] for r in doc["records"]]
    assert 1 <= len(done) < 8 and all(r["status"] == "finished" for r in doc["records"])
    assert doc["missing_records"] == [f"step{i}" for i in range(len(done), 8)]
    assert f"interrupted by {sig.name}: missing records: {', '.join(doc['missing_records'])}" in stdout
    assert not list(out.glob(".*.tmp"))


def test_allow_list_refuses_a_module_before_importing_it(tmp_path, capsys):
    module = tmp_path / "untrusted_lab.py"
    module.write_text("import pathlib\npathlib.Path(__file__).with_name('ran').write_text('x')\n")
    config = digits_config(unlearners=[{"class": "untrusted_lab.Whatever"}])
    path = write(tmp_path / "shared.json", config)
    assert main([str(path), "--allow-module", "mylab", "--validate"]) == 2
    err = capsys.readouterr().err
    assert ("unlearners[0].class: 'untrusted_lab.Whatever' is outside the allowed modules "
            "(erasure, torch, torchvision, mylab): not imported") in err
    assert not (tmp_path / "ran").exists() and "untrusted_lab" not in sys.modules


def test_the_command_line_list_replaces_the_configs_own(tmp_path, capsys):
    config = digits_config(unlearners=[{"class": "tests.unlearners.fixtures.Sleepy"}])
    config["globals"]["allowed_modules"] = ["tests"]
    path = write(tmp_path / "lab.json", config)
    assert main([str(path), "--validate"]) == 0  # the config's own list allows it
    assert main([str(path), "--allow-module", "mylab", "--validate"]) == 2  # the runner's list wins
    assert "outside the allowed modules" in capsys.readouterr().err
    assert main([str(path), "--allow-module", "tests.unlearners", "--validate"]) == 0
    # without any list, everything importable is allowed (built-ins always are)
    del config["globals"]["allowed_modules"]
    prepare(config)
    prepare({**digits_config(), "globals": {"allowed_modules": []}})


def test_globals_with_a_problem_still_keep_their_allow_list(tmp_path):
    module = tmp_path / "untrusted_lab2.py"
    module.write_text("import pathlib\npathlib.Path(__file__).with_name('ran').write_text('x')\n")
    config = digits_config(unlearners=[{"class": "untrusted_lab2.Whatever"}])
    config["globals"].update(threads=0, allowed_modules=["mylab"])  # threads: a problem
    with pytest.raises(ConfigError) as e:
        prepare(config, config_file=write(tmp_path / "lab.json", config))
    assert [p.path for p in e.value.problems] == ["globals.threads", "unlearners[0].class"]
    assert "outside the allowed modules" in e.value.problems[1].message
    assert not (tmp_path / "ran").exists() and "untrusted_lab2" not in sys.modules


def test_globals_that_are_not_an_object_import_no_user_module(tmp_path, capsys):
    """--allow-module cannot be applied to a ``globals`` that is not an object; the config is
    then checked with only the framework's modules importable."""
    module = tmp_path / "untrusted_lab3.py"
    module.write_text("import pathlib\npathlib.Path(__file__).with_name('ran').write_text('x')\n")
    config = {**digits_config(unlearners=[{"class": "untrusted_lab3.Whatever"}]), "globals": 3}
    path = write(tmp_path / "lab.json", config)
    assert main([str(path), "--allow-module", "mylab", "--validate"]) == 2
    err = capsys.readouterr().err
    assert "globals: 'globals' must be an object, not int" in err
    assert "'untrusted_lab3.Whatever' is outside the allowed modules" in err
    assert not (tmp_path / "ran").exists() and "untrusted_lab3" not in sys.modules


def test_no_code_is_evaluated_from_configs_or_files():
    """Nothing in the framework evaluates strings or unpickles objects. The one module that
    touches pickle is the guard that restricts it (erasure/data/sources/unpickling.py, tested in
    tests/data/test_no_unpickling.py)."""
    guard = ROOT / "erasure" / "data" / "sources" / "unpickling.py"
    offenders = []
    for path in sorted((ROOT / "erasure").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        patterns = [r"(?<![.\w])eval\(", r"(?<![.\w])exec\(", r"\bmarshal\.",
                    r"torch\.load\((?![^)]*weights_only=True)"]
        if path != guard:
            patterns += [r"\bpickle\.", r"\bimport pickle\b", r"\bfrom pickle\b"]
        for pattern in patterns:
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert offenders == []
    assert "import pickle" in guard.read_text(encoding="utf-8")  # the exemption is still needed


# --- hardening, round two -------------------------------------------------------------------


def test_sys_exit_and_keyboard_interrupt_raised_by_code_fail_the_record_not_the_run(tmp_path, capsys):
    config = write(tmp_path / "exits.json", digits_config(
        epochs=2,
        unlearners=[component("Exits"), component("Exits", how="keyboard"), {"class": "Identity"}],
        measures=[{"class": "Accuracy", "parameters": {"partition": "test"}},
                  component("ExitingMeasure")]))
    out = tmp_path / "out"
    assert main([str(config), "--output", str(out), "--quiet"]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["status"] == "finished" and "missing_records" not in doc
    records = {r["name"]: r for r in doc["records"]}
    assert records["Exits"]["status"] == "failed" and records["Exits"]["error"] == "SystemExit: 3"
    assert records["Exits#2"]["error"] == "KeyboardInterrupt"
    identity = records["Identity"]
    assert identity["status"] == "finished"
    assert identity["failed_measures"] == {"ExitingMeasure[1]": "SystemExit: 4"}
    assert 0.5 < identity["metrics"]["accuracy.test.unlearned"] <= 1.0


def run_cli(args: list[str], prelude: str = "") -> subprocess.CompletedProcess:
    """The command line in a fresh interpreter, as a user runs it (its own console logging,
    which pytest's log capture would replace in-process), after ``prelude``."""
    code = f"{prelude}\nimport sys\nfrom erasure.cli import main\nsys.exit(main({args!r}))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_non_finite_weights_fail_the_record_and_long_errors_keep_one_line(tmp_path):
    config = write(tmp_path / "nan.json", digits_config(
        epochs=2, unlearners=[component("NanWeights"), {"class": "Identity"}],
        measures=[{"class": "Accuracy", "parameters": {"partition": "test"}},
                  component("LongErrorMeasure")]))
    out = tmp_path / "out"
    ran = run_cli([str(config), "--output", str(out), "--no-plots"])
    assert ran.returncode == 0, ran.stderr
    records = {r["name"]: r for r in json.loads((out / "results.json").read_text())["records"]}
    assert records["NanWeights"]["status"] == "failed"
    assert records["NanWeights"]["error"] == ("the weights are not finite (NaN or infinite) in "
                                              "layers.1.weight")
    assert records["NanWeights"]["metrics"] == {}
    reason = records["Identity"]["failed_measures"]["LongErrorMeasure[1]"]
    assert reason == "ValueError: All the 5 fits failed. …"
    # the console (INFO level) shows the one-line reason, never the traceback or the details
    assert f"failed: {reason}" in ran.stderr
    assert "line 38 of the details" not in ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
    log = (out / "run.log").read_text()
    assert "line 38 of the details" in log and "Traceback (most recent call last)" in log


def test_a_full_disk_stops_the_run_with_one_message_and_keeps_the_last_results(tmp_path):
    config = write(tmp_path / "disk.json", digits_config(
        epochs=2, unlearners=[{"class": "Identity"}, {"name": "second", "class": "Identity"},
                              {"name": "third", "class": "Identity"}],
        measures=[{"class": "Accuracy", "parameters": {"partition": "test"}}]))
    # the header and the first record fit; then the disk is full
    full_disk = ("import errno\nfrom erasure import runner\nreal, writes = runner.write_json_atomic, []\n"
                 "def fill_up(path, document):\n    writes.append(1)\n    if len(writes) > 2:\n"
                 "        raise OSError(errno.ENOSPC, 'No space left on device')\n"
                 "    real(path, document)\nrunner.write_json_atomic = fill_up")
    out = tmp_path / "out"
    ran = run_cli([str(config), "--output", str(out), "--quiet"], full_disk)
    assert ran.returncode == 1
    results = out / "results.json"
    assert ran.stderr == (f"error: cannot write {results}: No space left on device; the last "
                          f"results written are in {results}\n")
    doc = json.loads(results.read_text())
    assert doc["status"] == "running"  # the last valid file: marking it failed too
    assert [r["name"] for r in doc["records"]] == ["Identity"]
    assert not list(out.glob(".*.tmp")) and not (out / ".erasure-run.lock").exists()
    assert "No space left on device" in (out / "run.log").read_text()


def test_a_disk_that_takes_the_mark_gets_the_results_marked_interrupted(tmp_path, monkeypatch):
    import errno

    from erasure import runner
    from erasure.runner import OutputFailed

    writes = []
    real = runner.write_json_atomic

    def third_write_fails(path, document):
        writes.append(document["status"])
        if len(writes) == 3:
            raise OSError(errno.EIO, "Input/output error")
        real(path, document)

    monkeypatch.setattr(runner, "write_json_atomic", third_write_fails)
    plan = prepare(digits_config(epochs=2, unlearners=[{"class": "Identity"},
                                                       {"name": "b", "class": "Identity"}]))
    with pytest.raises(OutputFailed) as e:
        runner.run(plan, output=tmp_path / "out")
    assert str(e.value) == f"cannot write {tmp_path / 'out' / 'results.json'}: Input/output error"
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["status"] == "interrupted" and doc["interrupted_by"] == "OutputFailed"
    # the record whose write failed is in the marked file; the run's end is not
    assert doc["missing_records"] == [] and [r["name"] for r in doc["records"]] == ["Identity", "b"]


def test_two_runs_into_one_output_never_share_it(tmp_path):
    """Started at the same moment into the same --output: one keeps the folder, the other goes
    beside it; both finish with every record, and neither log holds the other's lines."""
    config = write(tmp_path / "twin.json", digits_config(
        epochs=2, unlearners=[{"class": "tests.unlearners.fixtures.Sleepy",
                               "parameters": {"seconds": 0.3}}, {"class": "Identity"}],
        measures=[{"class": "Accuracy", "parameters": {"partition": "test"}}]))
    out = tmp_path / "out"
    command = [sys.executable, "main.py", str(config), "--output", str(out), "--quiet",
               "--no-plots"]
    runs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    finished = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], finished
    paths = {line.split(": ", 1)[1] for stdout, _ in finished
             for line in stdout.splitlines() if line.startswith("results: ")}
    assert paths == {str(out / "results.json"), str(tmp_path / "out-2" / "results.json")}
    for path in paths:
        doc = json.loads(Path(path).read_text())
        assert doc["status"] == "finished"
        assert [r["name"] for r in doc["records"]] == ["Sleepy", "Identity"]
        log = (Path(path).parent / "run.log").read_text()
        assert log.count("writing results to") == 1 and path in log


def test_resume_or_overwrite_into_a_folder_a_live_run_holds_is_refused(tmp_path, capsys):
    from erasure.results.claim import claim_run_folder

    config = write(tmp_path / "busy.json", digits_config(epochs=1))
    out = tmp_path / "out"
    folder, claim = claim_run_folder(out)  # a live run (this process) holds it
    try:
        for flag in ("--resume", "--overwrite"):
            assert main([str(config), "--output", str(out), "--quiet", flag]) == 2
            assert capsys.readouterr().err == (
                "error: 1 problem in the config:\n"
                f"  - --output: another run (process {os.getpid()}) is writing to {out}\n"
                "    Wait for it to finish, or write to another folder.\n")
    finally:
        claim.release()
    assert not out.exists()  # the refused runs wrote nothing; the claim created the folder only


def test_files_beside_a_config_never_shadow_installed_packages(tmp_path):
    """A config folder holding packages named like installed ones (sklearn, torchvision) — run in
    a fresh interpreter, where neither is imported yet — imports neither of them."""
    for package in ("sklearn", "torchvision", "json5"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(
            f"import pathlib\npathlib.Path({str(tmp_path / ('ran-' + package))!r}).touch()\n")
    config = digits_config(epochs=1, model={"class": "torchvision.models.resnet18"}, image=True)
    config["unlearners"] = [{"class": "Identity"}]
    path = write(tmp_path / "planted.json", config)
    checked = subprocess.run([sys.executable, "main.py", str(path), "--validate",
                              "--allow-module", "nothing"], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
    config["predictor"]["parameters"]["model"] = {"class": "MLP"}
    config["data"]["parameters"]["DataSource"]["parameters"]["shape"] = "flat"
    write(path, config)
    ran = subprocess.run([sys.executable, "main.py", str(path), "--quiet", "--allow-module", "x",
                          "--no-plots", "--output", str(tmp_path / "out")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in tmp_path.glob("ran-*")) == []
    # the torchvision class was resolved from the installed package (valid or a clean problem)
    assert checked.returncode in (0, 2) and "Traceback" not in checked.stderr


def test_a_user_module_is_found_beside_the_config_but_only_by_the_name_a_path_gives(tmp_path):
    (tmp_path / "lab_helpers.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('helpers-ran').touch()\n")
    keep = ("from dataclasses import dataclass\nfrom erasure.unlearners import Unlearner\n"
            "@dataclass(kw_only=True)\nclass Keep(Unlearner):\n"
            "    def unlearn(self, model, ctx):\n        return model\n")
    (tmp_path / "lab_unlearner.py").write_text(keep)
    (tmp_path / "lab_needs_helper.py").write_text("import lab_helpers\n" + keep)
    config = digits_config(epochs=1, unlearners=[{"class": "lab_unlearner.Keep"}])
    plan = prepare(config, config_file=write(tmp_path / "lab.json", config))
    assert type(plan.unlearners[0]).__module__ == "lab_unlearner"
    assert str(tmp_path) not in sys.path
    # a module it names imports a sibling it does not name: not looked up beside the config
    config = digits_config(epochs=1, unlearners=[{"class": "lab_needs_helper.Keep"}])
    with pytest.raises(ConfigError) as e:
        prepare(config, config_file=write(tmp_path / "lab.json", config))
    assert [str(p) for p in e.value.problems] == [
        "unlearners[0].class: importing module 'lab_needs_helper' failed: No module named "
        "'lab_helpers'"]
    assert not (tmp_path / "helpers-ran").exists()


def test_a_relative_globals_output_is_relative_to_the_config_file(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "work" / "here").mkdir(parents=True)
    config = digits_config(epochs=1)
    config["globals"]["output"] = "../results/run"
    path = write(tmp_path / "configs" / "rel.json", config)
    monkeypatch.chdir(tmp_path / "work" / "here")
    assert main([str(path), "--quiet", "--no-plots"]) == 0
    assert (tmp_path / "results" / "run" / "results.json").exists()
    assert sorted(p.name for p in (tmp_path / "work").rglob("*")) == ["here"]


def test_outside_the_runner_a_keyboard_interrupt_still_stops_a_session():
    """Driving a Session by hand (a notebook), Ctrl-C must stop it rather than be recorded as a
    failed unlearner; sys.exit() in an unlearner is still recorded."""
    from erasure import Session

    plan = prepare(digits_config(epochs=1, unlearners=[component("Exits", how="keyboard"),
                                                       component("Exits")]))
    session = Session(plan, seed=0)
    session.load_data()
    session.train_models()
    with pytest.raises(KeyboardInterrupt):
        session.unlearn(0)
    assert session.unlearn(1)["error"] == "SystemExit: 3"


def test_a_user_module_named_like_an_installed_one_gets_a_hint(tmp_path):
    (tmp_path / "fractions.py").write_text("class Keep:\n    pass\n")  # the standard library's
    config = digits_config(epochs=1, unlearners=[{"class": "fractions.Keep"}])
    with pytest.raises(ConfigError) as e:
        prepare(config, config_file=write(tmp_path / "named.json", config))
    [problem] = e.value.problems
    assert problem.message == "module 'fractions' has no attribute 'Keep'"
    assert problem.hint == ("'fractions' is also the name of an installed module (or of the "
                            "standard library's), which wins over "
                            f"{tmp_path / 'fractions.py'}: rename yours.")
