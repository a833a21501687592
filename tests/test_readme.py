"""The README's claims: its Python block runs as written and prints the example's avg gaps, the
ranking it quotes is the example's (avg gaps to four decimals; runtimes are the machine's), and
its links, and the reference's, point at files that exist."""
from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from erasure.results.tables import rank_methods

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_block(after_heading: str, language: str) -> str:
    """The first ```language block after the heading ``after_heading``."""
    section = README.split(f"\n## {after_heading}\n", 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block under '{after_heading}'"
    return match.group(1)


@pytest.fixture(scope="module")
def python_block(tmp_path_factory):
    """The README's Python block, run as written in a folder where ``configs/`` is the
    repository's: its results document and what it printed."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "configs").symlink_to(ROOT / "configs", target_is_directory=True)
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.chdir(folder)
        namespace: dict = {}
        exec(compile(code_block("From Python", "python"), "README.md", "exec"), namespace)
    results = folder / "output" / "example" / "results.json"
    return json.loads(results.read_text(encoding="utf-8")), printed.getvalue()


def test_the_python_block_runs_the_example_and_prints_its_avg_gaps(python_block):
    document, printed = python_block
    assert document["status"] == "finished"
    gaps = {r["name"]: r["metrics"]["avg_gap.forget.unlearned"] for r in document["records"]}
    assert len(gaps) == len(document["records"]) == 15
    for name, gap in gaps.items():
        line = next(line for line in printed.splitlines() if re.search(rf"\s{re.escape(name)}\s", line))
        assert float(line.split()[-1]) == pytest.approx(gap, rel=1e-4, abs=1e-6), name


def test_the_ranking_quoted_is_the_examples(python_block):
    document, _ = python_block
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```$", README, re.S | re.M)
    block = next(b for b in blocks if b.startswith("rank "))
    quoted = [line.split() for line in block.splitlines() if line[:1].isdigit()]
    assert len(quoted) >= 5
    ranked = {row.name: row for row in rank_methods(document).rows}
    for rank, name, gap, ci, _seconds in quoted:
        assert ranked[name].rank == int(rank), name
        # four decimals as printed; a little more for another machine's float rounding
        assert ranked[name].gap.mean == pytest.approx(float(gap), abs=2e-4), name
        assert ci == "—"  # one seed: no interval


@pytest.mark.parametrize("page", ["README.md", "guide/reference.md"])
def test_relative_links_point_at_files(page):
    path = ROOT / page
    text = path.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert local
    missing = [t for t in local if not (path.parent / t).exists()]
    assert not missing, f"{page} links to missing files: {missing}"
