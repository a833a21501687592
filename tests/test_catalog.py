"""``python main.py list [KIND]``: the components by kind, and for one kind (or one class) each
class's parameters with their types, defaults and one-line docs (erasure/catalog.py)."""
from __future__ import annotations

from erasure.cli import EXIT_CONFIG, main


def test_list_shows_every_kind_with_its_classes(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for line in ("unlearners (", "measures (", "networks (", "data sources (", "optimizers ("):
        assert line in out
    for name in ("Scrub", "Accuracy", "MLP", "SklearnDataSource", "PercentageSplit", "Adam"):
        assert name in out


def test_list_of_a_kind_shows_parameters_defaults_and_docs(capsys):
    assert main(["list", "unlearners"]) == 0
    out = capsys.readouterr().out
    scrub = out[out.index("Scrub — unlearner"):].split("\n\n")[0]
    assert "epochs: int ≥ 1, ≤ 100000 = 3 — " in scrub
    assert "optimizer: optimizer = SGD(lr=0.01" in scrub
    assert "ref_data_forget: partition = \"forget\"" in scrub
    assert "Finetuning — unlearner" in out and "NegGrad — unlearner" in out
    assert main(["list", "Data-Source"]) == 0  # another spelling of the kind
    out = capsys.readouterr().out
    assert "SklearnDataSource — data source" in out and "name: " in out
    assert main(["list", "percentagesplit"]) == 0  # one class
    out = capsys.readouterr().out
    assert "percentage: float > 0, < 1 (required)" in out
    assert main(["list", "globals"]) == 0  # the settings section
    out = capsys.readouterr().out
    assert "device: 'auto' | 'cpu' | 'cuda' | 'cuda:N' | 'mps' = \"auto\"" in out


def test_an_unknown_kind_exits_2_with_a_suggestion(capsys):
    assert main(["list", "unlernerz"]) == EXIT_CONFIG
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown kind 'unlernerz'" in captured.err
    assert "Did you mean 'unlearners'?" in captured.err
