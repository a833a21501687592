"""The guide's example runs as the guide says, and the user's own components show in results."""
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "guide"


def test_guide_commands_are_the_ones_tested():
    commands = re.findall(r"^python main\.py (\S+)$", (GUIDE / "README.md").read_text(), re.M)
    assert commands == ["guide/examples/custom.jsonc"]


def test_custom_unlearner_and_measure_run_from_the_guide_command(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "main.py", "guide/examples/custom.jsonc", "--quiet",
                           "--output", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    identity, noisy = results["records"]
    assert noisy["config"]["class"] == "my_components.NoisyFinetuning"
    assert noisy["config"]["parameters"]["sigma"] == 1.0
    assert noisy["status"] == "finished" and not noisy["failed_measures"]
    m = noisy["metrics"]
    # the user's measure reports; noise then repair lowers confidence on the forgotten class
    assert m["confidence.forget.original"] > 0.95
    assert m["confidence.forget.unlearned"] < m["confidence.forget.original"] - 0.1
    # and the unlearner really forgets part of the class while repairing the rest
    assert m["accuracy.forget.unlearned"] < 0.9
    assert m["accuracy.retain.unlearned"] > 0.95
    assert identity["metrics"]["accuracy.forget.unlearned"] == m["accuracy.forget.original"]
