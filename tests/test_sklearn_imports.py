"""scikit-learn costs about a second and 150 MB to import: a run imports it only when its config
names a measure that is about scikit-learn (MIA-Efficacy's SVC, SklearnMetric). Each run here is
a fresh interpreter, so ``sys.modules`` says what the run imported."""
import json
import subprocess
import sys

from tests.helpers import digits_config
from tests.test_cli import ROOT, write_config

#: Runs the command line with the arguments given, then prints the exit status and whether
#: scikit-learn was imported.
SCRIPT = """
import json, sys
from erasure.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "sklearn": "sklearn" in sys.modules}))
"""


def run(tmp_path, measures: list[dict]) -> tuple[bool, dict]:
    """Whether a small digits run with ``measures`` (trained, not loaded from a cache) imported
    scikit-learn, and its one record."""
    config = digits_config(epochs=3, model={"class": "MLP", "parameters": {"hidden": [32]}},
                           measures=measures)
    path = write_config(tmp_path / "exp.json", config)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(path), "--output", str(out),
                           "--cache-dir", str(tmp_path / "cache"), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["status"] == 0, done.stdout
    record, = json.loads((out / "results.json").read_text())["records"]
    assert record["status"] == "finished" and not record["failed_measures"], record
    return report["sklearn"], record


def test_digits_with_accuracy_and_attacks_never_imports_scikit_learn(tmp_path):
    imported, record = run(tmp_path, [
        {"class": "Accuracy"}, {"class": "UMIA"}, {"class": "LossAttack"},
        {"class": "RelearnTime", "parameters": {"max_steps": 20}}])
    assert not imported
    for key in ("accuracy.forget.unlearned", "umia.forget.unlearned",
                "loss_auc.forget.unlearned", "relearn_steps.forget.unlearned"):
        assert key in record["metrics"], key


def test_mia_efficacy_imports_scikit_learn_when_it_runs(tmp_path):
    imported, record = run(tmp_path, [{"class": "MIAEfficacy"}])
    assert imported
    assert 0.0 <= record["metrics"]["mia_efficacy.forget.unlearned"] <= 1.0
