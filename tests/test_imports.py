"""No import cycle anywhere: every module of the ``erasure`` package imports on its own, first,
in an interpreter that has imported nothing of erasure; and ``import erasure`` (what the command
line needs for ``--version`` and ``--help``) stays light.

A fresh ``python`` per module would pay torch's import once per module. Instead one fresh
interpreter imports torch (a third-party package: it cannot take part in a cycle of erasure's) and
then forks one child per module: each child starts with no erasure module in ``sys.modules``, as a
fresh interpreter does, and imports its one module first.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import erasure

ROOT = Path(__file__).resolve().parent.parent

#: Imports each module named in argv[1] (a JSON list) in its own forked child of an interpreter
#: that has imported torch and no erasure module; each child writes to the folder argv[2] a JSON
#: object: its traceback (null when the import worked) and the modules it then held whose names
#: start with one of WATCHED. Prints the JSON object {module: that object}.
SCRIPT = r"""
import importlib, json, os, sys, traceback

import torch  # noqa: F401  (shared by the children; they would each import it otherwise)

WATCHED = ("erasure", "ray", "optuna", "mlflow", "tensorboard", "torch.utils.tensorboard")
assert not [m for m in sys.modules if m == "erasure" or m.startswith("erasure.")], "not fresh"
names = json.loads(sys.argv[1])
folder = sys.argv[2]
sys.stdout.flush()
sys.stderr.flush()


def start(index, name):
    pid = os.fork()
    if pid:
        return pid
    error = None
    try:
        importlib.import_module(name)
    except BaseException:
        error = traceback.format_exc()
    finally:
        held = sorted(m for m in sys.modules if m.startswith(WATCHED))
        with open(os.path.join(folder, str(index)), "w") as file:
            json.dump({"error": error, "modules": held}, file)
        os._exit(0 if error is None else 1)


running, reports, todo = {}, {}, list(enumerate(names))
width = max(2, min(4, os.cpu_count() or 2))
while todo or running:
    while todo and len(running) < width:
        index, name = todo.pop(0)
        running[start(index, name)] = (index, name)
    pid, status = os.wait()
    index, name = running.pop(pid)
    path = os.path.join(folder, str(index))
    reports[name] = (json.load(open(path)) if os.path.exists(path)
                     else {"error": f"wait status {status}", "modules": []})
print(json.dumps(reports))
"""


def modules() -> list[str]:
    """Every module of the package, found from its files (importing a package to walk it would
    import its submodules first). ``erasure.__main__`` runs the command line when imported."""
    names = []
    for path in sorted((ROOT / "erasure").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[-1] != "__main__":
            names.append(".".join(parts))
    return names


@pytest.fixture(scope="module")
def imported_first(tmp_path_factory) -> dict[str, dict]:
    """Every module of the package imported first in a fresh interpreter (a forked child):
    module → {"error": its traceback or None, "modules": the watched modules it then held}."""
    if not hasattr(os, "fork"):
        pytest.skip("forks one child per module")
    folder = tmp_path_factory.mktemp("imports")
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(modules()), str(folder)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_every_module_imports_first_in_a_fresh_interpreter(imported_first):
    assert {"erasure", "erasure.cli", "erasure.experiment", "erasure.runner",
            "erasure.config.build", "erasure.unlearners.base"} <= set(imported_first)
    assert set(imported_first) == set(modules())
    failed = {name: report["error"] for name, report in imported_first.items() if report["error"]}
    assert not failed, "\n".join(f"--- import {name}\n{text}" for name, text in failed.items())


# --- the public surface ------------------------------------------------------------------------


def test_every_public_name_is_the_object_of_its_module():
    assert set(erasure.__all__) == {"__version__", *erasure._HOMES}
    assert set(erasure.__all__) <= set(dir(erasure))
    for name, home in erasure._HOMES.items():
        assert getattr(erasure, name) is getattr(importlib.import_module(home), name), name
    namespace: dict = {}
    exec("from erasure import *", namespace)
    assert set(erasure.__all__) <= set(namespace)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        erasure.nothing  # noqa: B018


def test_the_search_space_distributions_are_public():
    """A user's unlearner declares its ``search_space`` with names imported from ``erasure``."""
    from erasure.config import space

    namespace: dict = {}
    exec("from erasure import Choice, FloatRange, IntRange, LogUniform, Uniform",  # noqa: S102
         namespace)
    for name in ("Choice", "FloatRange", "IntRange", "LogUniform", "Uniform"):
        assert namespace[name] is getattr(space, name) and name in erasure.__all__
    lr = namespace["LogUniform"](1e-4, 1e-1)
    assert lr == space.FloatRange(1e-4, 1e-1, log=True) and lr.problem() is None
    assert namespace["Uniform"](0.1, 1.0).as_config() == {"type": "float", "low": 0.1,
                                                          "high": 1.0, "log": False}
    assert namespace["IntRange"](1, 10).corners() == [1, 10]
    assert namespace["Choice"](["expected", "true"]).choices == ("expected", "true")


def test_import_erasure_and_the_command_line_module_leave_torch_unimported():
    """``python main.py --version`` and ``--help`` need only ``erasure.cli``: torch is imported
    when a run needs it, and the public names of ``erasure`` on first use."""
    script = ("import json, sys, erasure, erasure.cli; "
              "print(json.dumps([erasure.__version__, 'torch' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [erasure.__version__, False]


def test_the_plan_is_below_the_pipeline_and_the_runner(imported_first):
    """Imports point down the flow: cli → runner → execution → tuning.study → experiment (the
    pipeline) → plan → tuning.settings → components. Building a plan needs none of what runs it,
    and checks a tune block without Optuna; the runner imports Ray only to run on it, and
    nothing imports MLflow or TensorBoard until a run is logged to it (``--track``). (What a
    module imports first in a fresh interpreter is what it imports at all.)"""
    above = {"erasure.cli", "erasure.runner", "erasure.experiment", "erasure.execution",
             "erasure.tuning.study", "optuna", "ray"}
    assert sorted(set(imported_first["erasure.plan"]["modules"]) & above) == []
    for name in ("erasure.runner", "erasure.cli", "erasure.tracking",
                 "erasure.tracking.mlflow_tracker", "erasure.tracking.tensorboard_tracker"):
        held = imported_first[name]["modules"]
        assert [m for m in held if m.startswith(("erasure.execution.", "ray", "optuna", "mlflow",
                                                 "tensorboard", "torch.utils.tensorboard"))] \
            == [], name
