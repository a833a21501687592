"""The diagonal Fisher behind Fisher forgetting and SSD (``erasure/unlearners/importance.py``):
exact against a per-sample, per-class autograd loop; sums depend on the set of samples and add
up over disjoint sets."""
import pytest
import torch

from erasure.data import Data, Graph
from erasure.data.sources.base import Samples
from erasure.models.graph import GCN
from erasure.models.networks import MLP, SmallCNN
from erasure.unlearners.importance import diagonal_fisher, fisher_sum

CLASSES = 4


def tiny_mlp() -> tuple[torch.nn.Module, Data]:
    # dropout: on in train mode, so a result equal to the eval-mode loop shows it is off
    torch.manual_seed(0)
    model = MLP(input_shape=(6,), num_classes=CLASSES, hidden=[5], dropout=0.5)
    return model, data_of(torch.randn(30, 6))


def tiny_cnn() -> tuple[torch.nn.Module, Data]:
    torch.manual_seed(1)
    model = SmallCNN(input_shape=(1, 8, 8), num_classes=CLASSES, channels=(2, 3), hidden=5)
    with torch.no_grad():  # running statistics other than the initial 0 and 1
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return model, data_of(torch.randn(30, 1, 8, 8))


def tiny_gcn() -> tuple[torch.nn.Module, Data]:
    torch.manual_seed(2)
    edges = torch.randint(0, 30, (2, 60))
    graph = Graph(torch.randn(30, 7), torch.cat([edges, edges.flip(0)], 1))
    return GCN(graph, CLASSES, hidden=(5,)), data_of(torch.arange(30), graph)


def data_of(x: torch.Tensor, graph: Graph | None = None) -> Data:
    y = torch.randint(0, CLASSES, (len(x),))
    order = torch.randperm(len(x))
    return Data(Samples(x=x, y=y, graph=graph),
                {"all": order, "a": order[:12], "b": order[12:]}, torch.device("cpu"))


def brute_force(model: torch.nn.Module, data: Data, partition: str, labels: str
                ) -> dict[str, torch.Tensor]:
    """The Fisher by its definition: per sample, per class, one autograd gradient of log p."""
    model.eval()
    names, params = zip(*model.named_parameters())
    total = [torch.zeros_like(p) for p in params]
    index = data[partition].tolist()
    for i in index:
        log_p = model(data.x[i:i + 1]).log_softmax(1)[0]
        classes = range(CLASSES) if labels == "expected" else [int(data.y[i])]
        for c in classes:
            weight = log_p[c].exp().detach() if labels == "expected" else 1.0
            grads = torch.autograd.grad(log_p[c], params, retain_graph=True)
            for t, g in zip(total, grads):
                t += weight * g.pow(2)
    return {name: t / len(index) for name, t in zip(names, total)}


def relative_error(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(((a[k] - b[k]).abs().max() / b[k].abs().max()).item() for k in a)


@pytest.mark.parametrize("make", [tiny_mlp, tiny_cnn, tiny_gcn])
@pytest.mark.parametrize("labels", ["expected", "true"])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_the_fisher_equals_the_per_sample_per_class_loop(make, labels, batch_size):
    model, data = make()
    model.train()
    fisher = diagonal_fisher(model, data, "all", labels=labels, batch_size=batch_size)
    assert model.training  # the mode is restored
    expected = brute_force(model, data, "all", labels)
    assert all(t.abs().max() > 0 for t in expected.values())
    assert relative_error(fisher, expected) < 2e-6  # measured at most 4.5e-7


@pytest.mark.parametrize("make", [tiny_mlp, tiny_cnn])
def test_sums_depend_on_the_set_and_add_up_over_disjoint_sets(make):
    model, data = make()
    whole = fisher_sum(model, data, data["all"], labels="expected")
    shuffled = fisher_sum(model, data, data["all"].flip(0), labels="expected")
    assert all(torch.equal(whole[k], shuffled[k]) for k in whole)  # sorted: bit-identical
    a, b = (fisher_sum(model, data, data[p], labels="expected") for p in ("a", "b"))
    assert relative_error({k: a[k] + b[k] for k in a}, whole) < 1e-6  # measured 1.6e-7
