"""``--validate`` checks a config without importing what only running it needs: torch's compiler
(``torch._dynamo``, which building an optimizer on a stand-in parameter would import) and
scikit-learn (which SklearnMetric's checks read from its source). Each check runs in a fresh
interpreter, so ``sys.modules`` says what validating imported."""
import json
import subprocess
import sys

from tests.test_cli import ROOT

SCRIPT = """
import json, sys
import torch
from erasure.cli import main
status = main(["configs/example.jsonc", "--validate"])
wrapped = torch.optim.Optimizer.add_param_group.__wrapped__
print(json.dumps({"status": status, "heavy": sorted(m for m in ("torch._dynamo", "sklearn",
                  "scipy", "pandas", "torchvision") if m in sys.modules),
                  "seed_left": hasattr(wrapped, "__dynamo_disable")}))
"""


def test_validating_the_example_imports_neither_dynamo_nor_scikit_learn():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report == {"status": 0, "heavy": [], "seed_left": False}


def test_an_optimizer_still_rejects_its_values_while_validating():
    from erasure.config import ConfigError
    from erasure.plan import prepare
    from tests.helpers import digits_config

    config = digits_config(epochs=1)
    config["predictor"]["parameters"]["optimizer"] = {"class": "Adam", "parameters": {"lr": -1}}
    try:
        prepare(config)
    except ConfigError as e:
        error = e
    else:
        raise AssertionError("a negative learning rate passed")
    assert "predictor.parameters.optimizer" in str(error) and "learning rate" in str(error)
