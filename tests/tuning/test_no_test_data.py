"""Tuning never reads the evaluated test data: a spy records every index tensor any Data hands
out while a study runs (stand-in models' training, trials, their measures), and every partition
of the stand-in experiment."""
from __future__ import annotations

import pytest
import torch

from erasure.data.manager import Data
from erasure.experiment import Session
from erasure.tuning import study
from tests.tuning.common import ACCURACY, config, neggrad, run_config


class Spy:
    """Records, while :func:`erasure.tuning.study.tune` runs, the sample ids of every index
    tensor that Data hands out (``data[name]``, ``tensors``, ``batches``/``index_batches``) and
    the partitions of every Data made by ``with_partitions`` (the stand-in's); outside tuning,
    the evaluated test ids (read from the real data when a tuned record starts)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tuning = False
        self.read: list[torch.Tensor] = []
        self.stand_ins: list[dict[str, torch.Tensor]] = []
        self.test_ids: list[torch.Tensor] = []
        self.studies = 0
        getitem, tensors, index_batches = Data.__getitem__, Data.tensors, Data.index_batches
        with_partitions, tune = Data.with_partitions, study.tune
        spy = self

        def record(index: torch.Tensor) -> None:
            if spy.tuning:
                spy.read.append(index.detach().cpu().clone())

        def spy_getitem(self, name):
            index = getitem(self, name)
            record(index)
            return index

        def spy_tensors(self, name):
            record(self.partitions[name])
            return tensors(self, name)

        def spy_index_batches(self, index, *args, **kwargs):
            record(index)
            return index_batches(self, index, *args, **kwargs)

        def spy_with_partitions(self, partitions):
            out = with_partitions(self, partitions)
            spy.stand_ins.append({k: v.cpu().clone() for k, v in out.partitions.items()})
            return out

        def spy_tune(session: Session, index, folder, trials=None):
            spy.test_ids.append(session.data.partitions["test"].cpu().clone())
            spy.tuning = True
            try:
                return tune(session, index, folder, trials)
            finally:
                spy.tuning = False
                spy.studies += 1

        monkeypatch.setattr(Data, "__getitem__", spy_getitem)
        monkeypatch.setattr(Data, "tensors", spy_tensors)
        monkeypatch.setattr(Data, "index_batches", spy_index_batches)
        monkeypatch.setattr(Data, "with_partitions", spy_with_partitions)
        monkeypatch.setattr(study, "tune", spy_tune)

    def check(self) -> torch.Tensor:
        """Asserts no test id was read or held by a stand-in; returns every id read."""
        assert self.studies and self.read and self.stand_ins
        test = torch.unique(torch.cat(self.test_ids))
        assert len(test) > 150  # digits: 20% (or 10%) of 1797 samples
        read = torch.unique(torch.cat(self.read))
        assert not torch.isin(read, test).any(), \
            f"tuning read {int(torch.isin(read, test).sum())} test samples"
        for partitions in self.stand_ins:
            for name, index in partitions.items():
                assert not torch.isin(index, test).any(), f"stand-in partition '{name}' holds test ids"
        return read


@pytest.mark.parametrize("protocol", ["held_out", "oracle"])
def test_tuning_never_reads_the_test_partition(tmp_path, cache_dir, monkeypatch, protocol):
    # measures that read the held-out data: the objective (Avg. Gap with its attack) does, and a
    # ToW objective reads its configured 'test' partition — in the stand-in that is V
    spy = Spy(monkeypatch)
    c = config([neggrad(trials=3, protocol=protocol),
                {"class": "Finetuning", "parameters": {"epochs": 1},
                 "tune": {"trials": 3, "protocol": protocol, "objective": "tow.forget.unlearned",
                          "space": {"optimizer.parameters.lr": {"low": 1e-3, "high": 0.1}}}}],
               cache_dir=cache_dir, measures=[ACCURACY, {"class": "ToW"}, {"class": "UMIA"}])
    doc = run_config(c, tmp_path / "out")
    for record in doc["records"]:
        assert record["status"] == "finished", record["error"]
        assert record["tuning"]["protocol"] == protocol
        # the record itself is measured on the real test data, after tuning
        assert 0.5 < record["metrics"]["accuracy.test.unlearned"] <= 1.0
    assert spy.studies == 2
    read = spy.check()
    # the stand-in's V was read (it is the held-out data of tuning), and it lies in training
    train = torch.unique(torch.cat([p["train"] for p in spy.stand_ins]))
    assert len(read) > len(train)  # V too, outside the stand-in's training set


def test_a_named_validation_partition_stands_in_for_test(tmp_path, cache_dir, monkeypatch):
    """Validation named as a partition outside training (half of the held-out data): tuning
    reads it, and not one sample of the other half, the evaluated test set."""
    spy = Spy(monkeypatch)
    c = config([neggrad(trials=3, validation="val")], cache_dir=cache_dir)
    c["data"]["parameters"]["partitions"][0]["parameters"]["parts_names"] = ["train", "held"]
    c["data"]["parameters"]["partitions"].append(
        {"class": "PercentageSplit", "parameters": {"parts_names": ["val", "test"],
                                                    "percentage": 0.5, "ref_data": "held"}})
    doc = run_config(c, tmp_path / "out")
    record = doc["records"][0]
    assert record["status"] == "finished", record["error"]
    sizes = doc["partitions"]
    assert record["tuning"]["stand_in"]["validation"] == {"partition": "val", "size": sizes["val"]}
    # the stand-in trains on all the training data (nothing carved from it)
    assert record["tuning"]["stand_in"]["training"] == sizes["train"]
    read = spy.check()
    # every partition outside training is V there, 'held' included (it contains the test set)
    for partitions in spy.stand_ins:
        assert torch.equal(partitions["test"], partitions["val"])
        assert torch.equal(partitions["held"], partitions["val"])
    assert torch.isin(spy.stand_ins[0]["val"], read).all()
