"""Successive random labels (Graves et al. 2021): the forget set relabelled with random wrong
labels, redrawn each epoch, trained on beside the retain set."""
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from erasure.seeding import generator
from erasure.unlearners import UnlearningContext
from tests.unlearners import fixtures as fx


def test_random_labels_forget_a_class_and_keep_retain_accuracy():
    session = fx.session("class", [{"class": "SuccessiveRandomLabels"}])
    record, _ = fx.unlearn(session, 0)
    m = record["metrics"]

    assert m["accuracy.forget.original"] == 1.0
    assert m["accuracy.forget.unlearned"] <= 0.10  # measured 0.0
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.05  # .985 vs .998


class Recorder(nn.Module):
    """A linear model that notes the sample ids (its single input feature) of each batch."""

    def __init__(self, classes):
        super().__init__()
        self.linear = nn.Linear(1, classes)
        self.ids: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []

    def forward(self, x):
        self.ids.append(x[:, 0].long())
        return self.linear(x)

    def loss(self, logits, y):
        self.labels.append(y.clone())
        return F.cross_entropy(logits, y)


def test_forget_labels_are_always_wrong_redrawn_each_epoch_and_retain_labels_kept():
    classes, epochs = 10, 6
    n = 40
    x = torch.arange(n, dtype=torch.float32)[:, None]  # each sample's feature is its id
    y = (torch.arange(n) * 7) % classes
    forget, retain = list(range(0, n, 2)), list(range(1, n, 2))
    data = fx.tiny_data(x, y, {"forget": forget, "retain": retain}, num_classes=classes)
    model = Recorder(classes)
    predictor = SimpleNamespace(batch_size=8, loss_fn=lambda: model.loss)
    ctx = UnlearningContext(data=data, predictor=predictor, generator=generator(5), seed=5,
                            gold=None)
    unlearner = fx.build_unlearner({"class": "SuccessiveRandomLabels", "parameters": {
        "epochs": epochs, "optimizer": {"class": "SGD", "parameters": {"lr": 0.0}}}})

    unlearner.unlearn(model, ctx)

    ids, labels = torch.cat(model.ids), torch.cat(model.labels)
    assert len(ids) == epochs * n  # every sample once per epoch: 5 batches of 8
    per_epoch = []
    for epoch in range(epochs):
        seen, given = ids[epoch * n:(epoch + 1) * n], labels[epoch * n:(epoch + 1) * n]
        assert sorted(seen.tolist()) == list(range(n))
        label_of = dict(zip(seen.tolist(), given.tolist()))
        assert all(label_of[i] == y[i] for i in retain)
        assert all(label_of[i] != y[i] and 0 <= label_of[i] < classes for i in forget)
        per_epoch.append(tuple(label_of[i] for i in forget))
        assert seen[:len(forget)].tolist() != forget  # the order is shuffled
    # redrawn every epoch: no two epochs give the forget set the same labels
    assert len(set(per_epoch)) == epochs
    # drawn over every wrong class, not a fixed shift: all 9 offsets occur
    offsets = {(label - y[i].item()) % classes
               for epoch in per_epoch for i, label in zip(forget, epoch)}
    assert offsets == set(range(1, classes))


def test_random_labels_are_seeded_by_the_unlearners_stream():
    n, classes = 30, 10
    x, y = torch.arange(n, dtype=torch.float32)[:, None], torch.arange(n) % classes
    data = fx.tiny_data(x, y, {"forget": list(range(10)), "retain": list(range(10, n))},
                        num_classes=classes)
    unlearner = fx.build_unlearner({"class": "SuccessiveRandomLabels", "parameters": {"epochs": 2}})

    def labels(seed):
        torch.manual_seed(seed)
        model = Recorder(classes)
        ctx = UnlearningContext(data=data, predictor=SimpleNamespace(batch_size=7, loss_fn=lambda: model.loss),
                                generator=generator(seed), seed=seed, gold=None)
        unlearner.unlearn(model, ctx)
        return torch.cat(model.labels).tolist(), torch.cat(model.ids).tolist()

    assert labels(1) == labels(1)
    assert labels(1) != labels(2)
