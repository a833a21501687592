"""Faults during a run: failures are recorded (and fatal only with --strict), SIGINT/SIGTERM leave
valid results with the missing records named, and a config imports only what it is allowed to."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from erasure.cli import main
from erasure.config import ConfigError
from erasure.experiment import prepare
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


def test_the_command_line_list_replaces_the_configs_own(tmp_path):
    config = digits_config(unlearners=[{"class": "tests.unlearners.fixtures.Sleepy"}])
    config["globals"]["allowed_modules"] = ["tests"]
    prepare(config)  # the config's own list allows it
    with pytest.raises(ConfigError, match="outside the allowed modules"):
        prepare(config, allow_modules=["mylab"])  # the runner's list wins
    prepare(config, allow_modules=["tests.unlearners"])
    # without any list, everything importable is allowed (built-ins always are)
    del config["globals"]["allowed_modules"]
    prepare(config)
    prepare(digits_config(), allow_modules=[])


def test_no_code_is_evaluated_from_configs_or_files():
    """Nothing in the framework evaluates strings or unpickles objects."""
    offenders = []
    for path in sorted((ROOT / "erasure").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"(?<![.\w])eval\(", r"(?<![.\w])exec\(", r"\bpickle\.", r"\bmarshal\.",
                        r"torch\.load\((?![^)]*weights_only=True)"):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert offenders == []
