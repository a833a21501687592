"""``--tune`` and ``--no-tune`` on the command line."""
from __future__ import annotations

import copy

import pytest

from erasure.cli import EXIT_CONFIG, main
from erasure.tuning import DEFAULT_TRIALS
from erasure.unlearners.ssd import SSD
from tests.tuning.common import NEGGRAD_SPACE, config, load, neggrad, records, run_config, \
    write_config

UNLEARNERS = [{"class": "Identity"}, {"class": "GoldModel"}, neggrad(trials=3), {"class": "SSD"}]


def test_no_tune_runs_tuned_entries_as_configured(tmp_path, cache_dir):
    c = config(UNLEARNERS, cache_dir=cache_dir)
    file = write_config(tmp_path / "tuned.json", c)
    assert main([str(file), "--no-tune", "--output", str(tmp_path / "out"), "--quiet",
                 "--no-plots"]) == 0
    doc = load(tmp_path / "out" / "results.json")
    assert doc["config"]["globals"]["tune"] is False
    assert not (tmp_path / "out" / "tuning.db").exists()
    untuned = copy.deepcopy(c)
    del untuned["unlearners"][2]["tune"]
    plain = records(run_config(untuned, tmp_path / "plain"))
    for name, record in records(doc).items():
        assert "tuning" not in record
        assert record["status"] == "finished", record["error"]
        # the same run: bit-identical numbers, the configured knobs
        assert record["metrics"] == plain[name]["metrics"]
        assert record["config"] == plain[name]["config"]


def test_tune_tunes_every_entry_with_something_to_tune(tmp_path, cache_dir):
    file = write_config(tmp_path / "tuned.json", config(UNLEARNERS, cache_dir=cache_dir))
    assert main([str(file), "--tune", "--output", str(tmp_path / "out"), "--quiet",
                 "--no-plots"]) == 0
    found = records(load(tmp_path / "out" / "results.json"))
    assert list(found) == ["Identity", "GoldModel", "NegGrad", "SSD"]
    # nothing to tune: run as they are
    assert "tuning" not in found["Identity"] and "tuning" not in found["GoldModel"]
    # its own block: its budget and space
    neg = found["NegGrad"]["tuning"]
    assert neg["budget"] == {"trials": 3, "timeout": None, "parallel": 1}
    assert set(neg["space"]) == set(NEGGRAD_SPACE) and neg["trials"] == 3
    # no block: the defaults (the method's space, 20 trials, Avg. Gap, held-out)
    ssd = found["SSD"]["tuning"]
    assert ssd["budget"] == {"trials": DEFAULT_TRIALS, "timeout": None, "parallel": 1}
    assert ssd["space"] == {k: d.as_config() for k, d in SSD.search_space.items()}
    assert (ssd["objective"], ssd["direction"], ssd["protocol"]) == \
        ("avg_gap", "minimize", "held_out")
    assert ssd["trials"] == DEFAULT_TRIALS
    assert found["SSD"]["config"]["parameters"]["selection_weighting"] == \
        pytest.approx(ssd["params"]["selection_weighting"], rel=1e-12)


def test_tune_and_no_tune_together_are_refused(tmp_path, capsys):
    file = write_config(tmp_path / "tuned.json", config(UNLEARNERS))
    with pytest.raises(SystemExit) as e:
        main([str(file), "--tune", "--no-tune", "--output", str(tmp_path / "out")])
    assert e.value.code == EXIT_CONFIG == 2
    assert "argument --no-tune: not allowed with argument --tune" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_validation_partition_inside_training_is_a_config_error(tmp_path, cache_dir, capsys):
    """Found once the data is loaded, before any training: exit 2, nothing written, the reason
    at the tune block's path."""
    c = config([{"class": "Identity"}, neggrad(trials=3, validation="retain")],
               cache_dir=cache_dir)
    file = write_config(tmp_path / "tuned.json", c)
    assert main([str(file), "--output", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert ("unlearners[1].tune.validation: 1294 samples of 'retain' are in the training set "
            "'train'") in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
