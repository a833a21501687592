"""The guide (``guide/``) stays true: every shell command in it runs exactly as written, every
example config in ``guide/examples/`` is one of those commands, every code block is an excerpt of
a file that runs, and what each chapter says about the results holds.

The commands run in a copy of ``main.py`` and ``guide/`` in a temporary folder (so that
``output/...`` lands there), in the order the chapters give them, in this process: ``python
main.py ARGS`` is ``erasure.cli.main(ARGS)`` (what ``main.py`` runs), ``python -m pytest -q
FILE`` runs that file's test functions, ``python FILE ARGS`` runs the script as ``__main__``,
``python -c CODE`` runs the code. A command followed by ``# exits with status N`` must exit so.
"""
from __future__ import annotations

import contextlib
import hashlib
import csv
import importlib.util
import io
import json
import os
import re
import runpy
import shlex
import shutil
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from erasure.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "guide"
EXAMPLES = GUIDE / "examples"
PAGES = [GUIDE / "README.md", *sorted(GUIDE.glob("[0-9][0-9]-*.md"))]
NUMBER = re.compile(r"[-+]?\d+\.\d+")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[tuple[Path, str]]:
    return [(page, body) for page in PAGES for lang, body in FENCE.findall(page.read_text())
            if lang == language]


@dataclass
class Command:
    page: Path
    line: str
    argv: list[str]
    status: int = 0

    @property
    def config(self) -> str | None:
        """The config file of a ``python main.py CONFIG ...`` run."""
        if self.argv[:2] == ["python", "main.py"] and self.argv[2] not in ("report", "evaluate",
                                                                             "list", "schema"):
            return self.argv[2]
        return None


def commands() -> list[Command]:
    """Every command of every ```bash block of the guide, in reading order."""
    found = []
    for page, body in blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            expected = re.search(r"#\s*exits with status (\d+)\s*$", line)
            argv = shlex.split(line, comments=True)
            found.append(Command(page, line.strip(), argv, int(expected.group(1)) if expected else 0))
    return found


def example_configs() -> set[str]:
    return {f"guide/examples/{p.name}" for p in EXAMPLES.glob("*.jsonc")}


# --- the guide's text --------------------------------------------------------------------------


def _anchors(page: Path) -> set[str]:
    """The anchors a code host gives the headings of a Markdown page (GitHub's rule)."""
    headings = re.findall(r"^#+ (.+)$", FENCE.sub("", page.read_text()), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_chapter_is_linked_and_every_link_resolves():
    index = (GUIDE / "README.md").read_text()
    for page in PAGES[1:]:
        assert f"({page.name})" in index, f"guide/README.md does not link {page.name}"
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([^)#\s]+)(?:#([^)]*))?\)", page.read_text()):
            if "://" in target:
                continue
            path = page.parent / target
            assert path.exists(), f"{page.name}: broken link {target}"
            if anchor:
                assert anchor in _anchors(path), f"{page.name}: no heading #{anchor} in {target}"


def test_the_commands_are_ones_this_test_runs():
    for command in commands():
        argv = command.argv
        assert argv[0] == "python", f"{command.page.name}: '{command.line}' is not run by this test"
        assert (argv[1] == "main.py" or argv[1:3] == ["-m", "pytest"] or argv[1] == "-c"
                or argv[1].startswith("guide/examples/")), command.line


def test_the_configs_run_are_exactly_the_example_configs():
    run = {c.config for c in commands() if c.config}
    assert run == example_configs(), ("every config in guide/examples/ must be run by a command "
                                      "of the guide, and every command's config must be there")


def test_every_example_file_is_shown_or_named_in_the_guide():
    text = "\n".join(page.read_text() for page in PAGES)
    for path in EXAMPLES.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert path.name in text, f"{path.relative_to(ROOT)} is not mentioned in the guide"


def _excerpt_of(snippet: str, text: str) -> bool:
    lines = snippet.rstrip("\n").split("\n")
    for indent in ("", "    ", "        ", "  ", "      "):
        if "\n".join(indent + line if line else line for line in lines) in text:
            return True
    return False


@pytest.mark.parametrize("language,suffix", [("python", ".py"), ("jsonc", ".jsonc")])
def test_code_blocks_are_excerpts_of_the_examples(language, suffix):
    """Code shown in the guide is copied from the files the commands run, never retyped."""
    files = [p.read_text() for p in EXAMPLES.rglob(f"*{suffix}")]
    for page, body in blocks(language):
        assert any(_excerpt_of(body, text) for text in files), \
            f"{page.name}: this {language} block is not an excerpt of guide/examples/:\n{body}"


# --- running the commands ----------------------------------------------------------------------


@dataclass
class Ran:
    command: Command
    status: int
    output: str


def _status(code) -> int:
    return code if isinstance(code, int) else (0 if code is None else 1)


def _run(command: Command) -> tuple[int, str]:
    argv = command.argv[1:]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            if argv[0] == "main.py":
                status = cli_main(argv[1:])
            elif argv[:2] == ["-m", "pytest"]:
                status = _run_test_file(Path(argv[-1]))
            elif argv[0] == "-c":
                exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
                status = 0
            else:
                saved = sys.argv
                sys.argv = argv
                try:
                    runpy.run_path(argv[0], run_name="__main__")
                finally:
                    sys.argv = saved
                status = 0
        except SystemExit as e:
            status = _status(e.code)
            if not isinstance(e.code, (int, type(None))):
                print(e.code)
        except Exception:  # noqa: BLE001 — reported with the command that raised it
            traceback.print_exc()
            status = 1
    return status, buffer.getvalue()


def _run_test_file(path: Path) -> int:
    """The test functions of a test file, in order (they take no fixtures); 1 if any fails."""
    spec = importlib.util.spec_from_file_location(f"guide_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    failed = 0
    for name, function in vars(module).items():
        if name.startswith("test_") and callable(function):
            try:
                function()
                print(f"{name} passed")
            except Exception:  # noqa: BLE001
                traceback.print_exc()
                failed += 1
    return 1 if failed else 0


@contextlib.contextmanager
def inside(folder: Path):
    """Runs a block in ``folder`` as the working directory, then restores the working directory,
    the import path and the modules (the guide's own modules are imported from ``folder``)."""
    saved_path, saved_modules, saved_cwd = list(sys.path), set(sys.modules), os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if name.startswith("my_"):
                del sys.modules[name]


@dataclass
class Guide:
    """The guide's commands, run: ``sandbox`` is the folder they ran in."""

    sandbox: Path
    runs: dict[str, Ran]

    def __getitem__(self, line: str) -> Ran:
        return self.runs[line]


@pytest.fixture(scope="module")
def ran(tmp_path_factory, mlflow_uri, request) -> Guide:
    """Every command of the guide, run in order in a copy of main.py and guide/ (chapter 10's
    checkpoint as its script writes it; MLflow's store: the test session's; Ray: the test
    session's instance, which chapter 9's ``--executor ray`` joins)."""
    if importlib.util.find_spec("ray"):
        request.getfixturevalue("ray_instance")
    sandbox = tmp_path_factory.mktemp("guide")
    shutil.copy(ROOT / "main.py", sandbox / "main.py")
    shutil.copytree(GUIDE, sandbox / "guide",
                    ignore=shutil.ignore_patterns("__pycache__", "checkpoints"))
    runs = {}
    with inside(sandbox), pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
        for command in commands():
            status, text = _run(command)
            runs[command.line] = Ran(command, status, text)
    return Guide(sandbox, runs)


def output(ran: Guide, name: str) -> Path:
    return ran.sandbox / "output" / name


def results(ran: Guide, name: str) -> dict:
    return json.loads((output(ran, name) / "results.json").read_text())


def records(ran: Guide, name: str, seed: int = 0) -> dict[str, dict]:
    return {r["name"]: r for r in results(ran, name)["records"] if r["seed"] == seed}


def test_every_command_exits_as_the_guide_says(ran):
    assert len(ran.runs) == len(commands())
    for line, done in ran.runs.items():
        assert done.status == done.command.status, \
            f"{done.command.page.name}: `{line}` exited with {done.status}:\n{done.output[-3000:]}"


def command_output(ran, fragment: str) -> str:
    matches = [done.output for line, done in ran.runs.items() if fragment in line]
    assert matches, f"no command of the guide contains {fragment!r}"
    return matches[0]


def shown_tables() -> list[tuple[Path, str, str]]:
    """``(page, command, table)`` for every printed summary table the guide shows (in a ```text
    block, a paragraph starting with ``unlearner``, or ``rank``: the ranking by avg gap) after
    the command that printed it."""
    found = []
    for page in PAGES:
        last = None
        for lang, body in FENCE.findall(page.read_text()):
            if lang == "bash":
                last = [line for line in body.splitlines() if line.strip()][-1].strip()
            elif lang == "text" and last:
                found += [(page, last, table) for table in body.split("\n\n")
                          if table.startswith(("unlearner ", "rank "))]
    return found


def _table(text: str, header: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == header.split())
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(line.split("  "))
    cells = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    return [row for row in cells if not set("".join(row)) <= {"-"}]  # no ---- line


def test_the_tables_shown_are_the_ones_printed(ran):
    """Same columns, same rows, and the same numbers (up to 0.03, timings aside)."""
    assert len(shown_tables()) >= 6
    for page, line, shown in shown_tables():
        header = shown.splitlines()[0]
        printed = _table(ran[line].output, header)
        expected = _table(shown, header)
        assert [r[0] for r in printed] == [r[0] for r in expected], f"{page.name}: {line}"
        if header.startswith("rank "):  # the methods in the same order
            assert [r[1:2] for r in printed] == [r[1:2] for r in expected], f"{page.name}: {line}"
        columns = expected[0]
        for want, got in zip(expected[1:], printed[1:]):
            for column, a, b in zip(columns, want, got):
                if column.startswith(("runtime", "rte", "tuning.seconds")) or a == b:
                    continue
                shown_numbers, printed_numbers = NUMBER.findall(a), NUMBER.findall(b)
                assert len(shown_numbers) == len(printed_numbers) and all(
                    abs(float(x) - float(y)) <= 0.03 for x, y in zip(shown_numbers, printed_numbers)), \
                    f"{page.name}: `{line}`: {want[0]} {column}: the guide shows {a}, the run printed {b}"


# --- chapter 2: the first experiment -----------------------------------------------------------


def test_first_experiment_random_forget_set(ran):
    folder = output(ran, "first")
    for name in ("results.json", "summary.md", "summary.csv", "run.log"):
        assert (folder / name).is_file(), name
    assert (folder / "plots").is_dir()
    document = results(ran, "first")
    assert document["status"] == "finished" and document["partitions"]["forget"] == 144
    rec = records(ran, "first")
    assert list(rec) == ["Identity", "GoldModel", "Finetuning", "NegGrad"]
    gold = rec["GoldModel"]["metrics"]
    # a random forget set: the gold model's forget accuracy is about its test accuracy, not 0
    assert abs(gold["accuracy.forget.unlearned"] - gold["accuracy.test.unlearned"]) < 0.05
    assert gold["accuracy.forget.unlearned"] > 0.9
    assert abs(gold["umia.forget.unlearned"] - 0.5) < 0.1
    # Identity is the original
    identity = rec["Identity"]["metrics"]
    assert identity["accuracy.forget.unlearned"] == identity["accuracy.forget.original"]
    summary = (folder / "summary.md").read_text()
    assert "| *gold* (reference) |" in summary and "| Finetuning |" in summary


def test_forgetting_one_class(ran):
    gold = records(ran, "forget_class")["GoldModel"]["metrics"]
    assert gold["accuracy.forget.unlearned"] == 0.0          # it never saw a 3
    assert gold["accuracy.test.unlearned"] < 0.9              # and the test set still holds 3s
    assert gold["umia.forget.unlearned"] > 0.8                # U-MIA far from 0.5 for the gold model
    for name in ("Finetuning", "NegGrad"):
        m = records(ran, "forget_class")[name]["metrics"]
        assert 0.5 < m["accuracy.forget.unlearned"] < m["accuracy.forget.original"]


def test_kept_models_get_new_measures_and_keep_their_numbers(ran):
    before, kept = records(ran, "forget_class"), records(ran, "forget_class_kept")
    assert sorted((output(ran, "forget_class_kept") / "models" / "seed-0").glob("*.safetensors"))
    for name, record in kept.items():
        metrics = record["metrics"]
        assert 0 < metrics["tow.forget.unlearned"] <= 1
        assert "class_accuracy.test.unlearned.3" in metrics
        for key in ("accuracy.forget.unlearned", "umia.forget.unlearned"):
            assert metrics[key] == before[name]["metrics"][key]  # same config, seed and threads
    assert kept["GoldModel"]["metrics"]["tow.forget.unlearned"] == pytest.approx(1.0)


def test_two_seeds(ran):
    document = results(ran, "forget_class_seeds")
    assert document["seeds"] == [0, 1]
    assert {(r["name"], r["seed"]) for r in document["records"]} == \
        {(n, s) for n in ("Identity", "GoldModel", "Finetuning", "NegGrad") for s in (0, 1)}
    summary = (output(ran, "forget_class_seeds") / "summary.md").read_text()
    assert "| 2/2 |" in summary and " ± " in summary
    # seed 0's models were trained by the previous command: they come from the cache
    assert all(m["cached"] for m in document["models"]["0"].values())
    assert not any(m["cached"] for m in document["models"]["1"].values())


def test_set_changes_one_value_and_the_models_come_from_the_cache(ran):
    document = results(ran, "first_finetuning_10")
    finetuning = {r["name"]: r for r in document["records"]}["Finetuning"]
    assert finetuning["config"]["parameters"]["epochs"] == 10
    assert all(model["cached"] for model in document["models"]["0"].values())
    assert "from the cache" in (output(ran, "first_finetuning_10") / "run.log").read_text()


# --- chapter 3: your own unlearner -------------------------------------------------------------


def test_your_unlearners_run_from_the_guide_command(ran):
    rec = records(ran, "unlearner")
    assert list(rec) == ["Identity", "GoldModel", "AddNoise", "NoisyFinetuning",
                         "GradientDifference"]
    noisy = rec["NoisyFinetuning"]
    assert noisy["config"]["class"] == "my_unlearners.NoisyFinetuning"
    assert noisy["config"]["parameters"]["sigma"] == 1.0
    assert noisy["status"] == "finished" and not noisy["failed_measures"]
    m = noisy["metrics"]
    # the unlearner really forgets part of the class while repairing the rest
    assert m["accuracy.forget.unlearned"] < 0.9
    assert m["accuracy.retain.unlearned"] > 0.95
    assert rec["Identity"]["metrics"]["accuracy.forget.unlearned"] == m["accuracy.forget.original"]
    # noise alone hurts everything and forgets nothing in particular
    noise = rec["AddNoise"]["metrics"]
    assert noise["accuracy.forget.unlearned"] > noise["accuracy.retain.unlearned"]
    # the hand-written loop gets close to the gold model
    gd, gold = rec["GradientDifference"]["metrics"], rec["GoldModel"]["metrics"]
    assert gd["accuracy.forget.unlearned"] <= 0.1
    assert gd["accuracy.retain.unlearned"] > gold["accuracy.retain.unlearned"] - 0.05


def test_a_bad_hyper_parameter_is_a_config_error_with_its_place(ran):
    text = command_output(ran, "sigma=-1")
    assert "unlearners[3].parameters.sigma: NoisyFinetuning: sigma must be at least 0" in text
    assert "valid (5 unlearners" in command_output(ran, "unlearner.jsonc --validate")


def test_the_readers_test_file_passes(ran):
    text = command_output(ran, "pytest")
    assert text.count(" passed") == 4, text


# --- chapter 4: your own data source and splitter ----------------------------------------------


def test_your_csv_source_and_threshold_splitter(ran):
    from erasure.config import load_config
    from erasure.plan import prepare

    config_file = ran.sandbox / "guide" / "examples" / "data.jsonc"
    document = results(ran, "data")
    assert document["config"]["data"]["parameters"]["DataSource"]["class"] == "my_data.CsvSource"
    assert {r["status"] for r in document["records"]} == {"finished"}
    # the forget set is exactly the training samples with alcohol above 13.5
    with inside(ran.sandbox):
        data = prepare(load_config(config_file), config_file=config_file).data.load(0)
    with open(EXAMPLES / "data" / "wine.csv", newline="") as f:
        alcohol = [float(row["alcohol"]) for row in csv.DictReader(f)]
    forget, train = set(data["forget"].tolist()), set(data["train"].tolist())
    assert forget == {i for i in train if alcohol[i] > 13.5}
    rec = records(ran, "data")
    assert rec["GoldModel"]["metrics"]["size.forget"] == len(forget)
    # a region of the feature space, not a class: the gold model still gets the forget set right
    assert rec["GoldModel"]["metrics"]["accuracy.forget.unlearned"] > 0.9


# --- chapter 5: your own measure ---------------------------------------------------------------


def test_your_measures_in_results_and_in_the_summary(ran):
    rec = records(ran, "measure")
    noisy, gold = rec["NoisyFinetuning"]["metrics"], rec["GoldModel"]["metrics"]
    # the user's measure reports; noise then repair lowers confidence on the forgotten class
    assert noisy["confidence.forget.original"] > 0.9
    assert noisy["confidence.forget.unlearned"] < noisy["confidence.forget.original"] - 0.1
    forget_size = results(ran, "measure")["partitions"]["forget"]
    for target in ("original", "unlearned"):
        row = [noisy[f"confusion.forget.{target}.3.{p}"] for p in range(10)]
        assert sum(row) == forget_size  # one row: every forget sample is a 3
    assert not any(k.startswith("confusion.forget.unlearned.2.") for k in noisy)
    assert gold["confusion.forget.unlearned.3.3"] == 0      # the gold model never answers 3
    assert gold["agreement.forget.unlearned"] == 1.0
    assert noisy["agreement.forget.original"] < noisy["agreement.forget.unlearned"] < 1.0
    # after the guide's rebuild command, summary.md has a column per metric
    summary = (output(ran, "measure") / "summary.md").read_text()
    header = summary.splitlines()[0]
    for key in ("confidence.forget.unlearned", "confusion.forget.unlearned.3.9",
                "agreement.forget.unlearned"):
        assert f"| {key} |" in header


# --- chapter 6: your own network --------------------------------------------------------------


def test_your_network_is_the_predictors_model(ran):
    document = results(ran, "network")
    assert document["config"]["predictor"]["parameters"]["model"]["class"] == "my_networks.TinyCNN"
    rec = records(ran, "network")
    assert rec["Identity"]["metrics"]["accuracy.test.unlearned"] > 0.9
    assert rec["GoldModel"]["metrics"]["accuracy.forget.unlearned"] == 0.0


# --- chapter 7: reading and comparing results --------------------------------------------------


def test_report_and_compare(ran):
    assert "| *gold* (reference) |" in command_output(ran, "main.py report")
    text = command_output(ran, "compare.py")
    lines = [line for line in text.splitlines() if line.startswith(("Identity", "GoldModel"))]
    assert len(lines) == 2 and "(+0.000)" in lines[1]


# --- chapter 8: tuning toward the gold model ---------------------------------------------------


def test_tuning_toward_the_gold_model(ran):
    tuned, defaults = records(ran, "tuning"), records(ran, "tuning_defaults")
    assert list(tuned) == ["GoldModel", "Finetuning", "NegGrad", "TunableNoisyFinetuning"]
    assert {n for n, r in tuned.items() if "tuning" in r} == {"NegGrad", "TunableNoisyFinetuning"}
    assert not any("tuning" in r for r in defaults.values())  # --no-tune
    for name in ("NegGrad", "TunableNoisyFinetuning"):
        block = tuned[name]["tuning"]
        assert block["protocol"] == "held_out" and block["objective"] == "avg_gap"
        assert block["trials"] == 10 == block["complete"] + block["pruned"] + block["failed"]
        # another class than the evaluated 3, with its own gold model
        drawn = block["stand_in"]["forget"]["drawn"]
        assert drawn.startswith("drawn like 'forget' by ClassSplit (classes [") and "3" not in drawn
        assert block["validation"] == 0.1
        # the chosen knobs are the record's config
        parameters = tuned[name]["config"]["parameters"]
        for path, value in block["params"].items():
            node = parameters
            for part in path.split(".")[:-1]:
                node = node[part]
            assert node[path.split(".")[-1]] == value
    mine = tuned["TunableNoisyFinetuning"]
    # the config's space replaced the class's: sigma in [0, 1], lr in [0.001, 0.1], epochs kept
    assert set(mine["tuning"]["params"]) == {"sigma", "optimizer.parameters.lr"}
    assert 0.0 <= mine["config"]["parameters"]["sigma"] <= 1.0
    assert mine["config"]["parameters"]["epochs"] == 3
    # the chapter's point: tuned, both end closer to the gold model than with their defaults
    gap = "avg_gap.forget.unlearned"
    for name, (was, now) in {"NegGrad": (0.131, 0.026),
                             "TunableNoisyFinetuning": (0.160, 0.072)}.items():
        assert abs(defaults[name]["metrics"][gap] - was) < 0.03, name
        assert abs(tuned[name]["metrics"][gap] - now) < 0.03, name
        assert tuned[name]["metrics"][gap] < defaults[name]["metrics"][gap]
    assert defaults["NegGrad"]["metrics"]["accuracy.retain.unlearned"] < 0.75
    assert tuned["NegGrad"]["metrics"]["accuracy.retain.unlearned"] > 0.9
    # the printed summary and the report say what each tuned record chose; the plot is drawn
    printed = ran["python main.py guide/examples/tuning.jsonc"].output
    assert [line.split(":")[1].strip() for line in printed.splitlines()
            if line.startswith("tuned: ")] == ["NegGrad (seed 0)", "TunableNoisyFinetuning (seed 0)"]
    report = command_output(ran, "main.py report output/tuning")
    assert "- NegGrad (seed 0): held_out protocol, avg_gap = " in report
    assert (output(ran, "tuning") / "plots" / "tuning.png").is_file()
    assert (output(ran, "tuning") / "tuning.db").is_file()


def test_a_run_on_ray_gives_the_records_of_the_local_run(ran):
    """Chapter 9: chapter 2's two-seed run again, as Ray tasks — the same records (runtime and
    memory aside), the models from the cache that run filled."""
    on_ray, local = results(ran, "forget_class_on_ray"), results(ran, "forget_class_seeds")
    assert on_ray["config"]["globals"]["executor"] == "ray"

    def comparable(document):
        return [dict(r, metrics={k: v for k, v in r["metrics"].items()
                                 if not k.startswith(("runtime.", "memory.", "rte."))})
                for r in document["records"]]

    assert len(on_ray["records"]) == 8
    assert comparable(on_ray) == comparable(local)
    assert all(m["cached"] for seed in ("0", "1") for m in on_ray["models"][seed].values())


def _shown(distribution) -> str:
    """A distribution as chapter 8's table writes it: ``1e-4–1e-1 log``, ``1–10``, ``0.1–1.0``
    (a log range's bounds up to 0.1 in powers of ten)."""
    def number(x):
        if isinstance(x, int) or not (distribution.log and x <= 0.1):
            return repr(x)
        return f"{x:.0e}".replace("e-0", "e-")
    text = f"{number(distribution.low)}–{number(distribution.high)}"
    return text + " log" if distribution.log else text


def test_chapter_8_table_of_default_spaces_is_the_code():
    """Every row of the table of default search spaces names each class's space as declared."""
    import erasure.unlearners as unlearners

    text = (GUIDE / "08-tuning.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (`\w+`(?:, `\w+`)*) \| (.+) \|$", text, flags=re.M)
    table = {name.strip("`"): cells for names, cells in rows for name in names.split(", ")}
    concrete = [getattr(unlearners, n) for n in unlearners.__all__
                if isinstance(getattr(unlearners, n), type)
                and issubclass(getattr(unlearners, n), unlearners.Unlearner)
                and not getattr(unlearners, n).__dict__.get("abstract", False)]
    assert {cls.__name__ for cls in concrete} <= set(table)
    for cls in concrete:
        space = cls.search_space
        if not space:
            assert table[cls.__name__] == "none (nothing to tune)", cls.__name__
            continue
        expected = ", ".join(f"`{path}` {_shown(d)}" for path, d in space.items())
        assert table[cls.__name__] == expected, cls.__name__


# --- chapter 10: your own trained model ---------------------------------------------------------


def test_your_checkpoint_is_the_original_and_mlflow_holds_the_records(ran, mlflow_uri):
    from mlflow import MlflowClient
    from safetensors.torch import load_file

    weights = load_file(ran.sandbox / "guide/examples/checkpoints/resnet18_digits.safetensors")
    document = results(ran, "checkpoint")
    original = document["models"]["0"]["original"]
    assert original["source"] == "checkpoint" and original["trained_seconds"] is None
    assert original["sha256"] == hashlib.sha256(
        (ran.sandbox / "guide/examples/checkpoints/resnet18_digits.safetensors").read_bytes()
    ).hexdigest()
    assert document["models"]["0"]["gold.retain"]["source"] == "trained"
    assert "train_original" not in document["timings"]["0"]
    assert weights["conv1.weight"].shape == (16, 1, 3, 3)  # the ResNet-18 of width 16
    rec = records(ran, "checkpoint")
    assert list(rec) == ["GoldModel", "Finetuning", "NegGrad", "Scrub"]
    # the checkpoint learned the 3s (the script's training accuracy is printed) and the gold
    # model, retrained by erasure without them, does not know them
    assert rec["Finetuning"]["curve"]["metrics"]["accuracy.forget.unlearned"][0] > 0.9
    assert rec["GoldModel"]["metrics"]["accuracy.forget.unlearned"] < 0.05
    assert rec["Finetuning"]["curve"]["epochs"] == [0, 1, 2, 3]
    client = MlflowClient(tracking_uri=mlflow_uri)
    experiment = client.get_experiment_by_name("checkpoint")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])
            if "mlflow.parentRunId" in r.data.tags}
    assert set(runs) == set(rec)
    for name, record in rec.items():
        logged = runs[name].data.metrics
        for key, value in record["metrics"].items():
            assert abs(logged[key] - value) <= 1e-9, (name, key)
    history = client.get_metric_history(runs["Scrub"].info.run_id,
                                        "curve.accuracy.forget.unlearned")
    assert [m.step for m in history] == rec["Scrub"]["curve"]["epochs"]
