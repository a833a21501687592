"""scikit-learn costs about a second and 150 MB to import: a run imports it only when its config
names a measure that is about scikit-learn (MIA-Efficacy's SVC, SklearnMetric). One fresh
interpreter runs two small digits runs one after the other — first one without such a measure,
then one with MIA-Efficacy — and reports after each whether ``sys.modules`` holds scikit-learn."""
import json
import subprocess
import sys

import pytest

from tests.helpers import digits_config
from tests.test_cli import ROOT, write_config

#: Runs the command line once per argument list in argv[1] (a JSON list of lists), printing
#: after each run a JSON line with its exit status and whether scikit-learn was imported so far.
SCRIPT = """
import json, sys
from erasure.cli import main
for argv in json.loads(sys.argv[1]):
    status = main(argv)
    print(json.dumps({"status": status, "sklearn": "sklearn" in sys.modules}), flush=True)
"""

WITHOUT = [{"class": "Accuracy"}, {"class": "UMIA"}, {"class": "LossAttack"},
           {"class": "RelearnTime", "parameters": {"max_steps": 20}}]
WITH = [{"class": "MIAEfficacy"}]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """For the run without and the run with MIA-Efficacy (each trained, not loaded from a
    cache): whether scikit-learn was imported after it, and its one record."""
    tmp_path = tmp_path_factory.mktemp("sklearn")
    argvs = []
    for name, measures in (("without", WITHOUT), ("with", WITH)):
        config = digits_config(epochs=3, model={"class": "MLP", "parameters": {"hidden": [32]}},
                               measures=measures)
        path = write_config(tmp_path / f"{name}.json", config)
        argvs.append([str(path), "--output", str(tmp_path / name), "--cache-dir",
                      str(tmp_path / f"cache-{name}"), "--quiet", "--no-plots"])
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(argvs)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["status"] for r in reports] == [0, 0], done.stdout
    out = {}
    for name, report in zip(("without", "with"), reports):
        record, = json.loads((tmp_path / name / "results.json").read_text())["records"]
        assert record["status"] == "finished" and not record["failed_measures"], record
        out[name] = report["sklearn"], record
    return out


def test_digits_with_accuracy_and_attacks_never_imports_scikit_learn(runs):
    imported, record = runs["without"]
    assert not imported
    for key in ("accuracy.forget.unlearned", "umia.forget.unlearned",
                "loss_auc.forget.unlearned", "relearn_steps.forget.unlearned"):
        assert key in record["metrics"], key


def test_mia_efficacy_imports_scikit_learn_when_it_runs(runs):
    imported, record = runs["with"]
    assert imported
    assert 0.0 <= record["metrics"]["mia_efficacy.forget.unlearned"] <= 1.0
