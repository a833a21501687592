"""The diagonal Fisher behind Fisher forgetting and SSD (``erasure/unlearners/importance.py``):
exact against a per-sample, per-class autograd loop; the closed form equal to the ``torch.func``
path wherever it serves, which serves every other network; sums depend on the set of samples and
add up over disjoint sets."""
import copy

import pytest
import torch
from torch import nn

from erasure.data import Data, Graph
from erasure.data.sources.base import Samples
from erasure.models.acceleration import Acceleration, prepare_model
from erasure.models.graph import GCN
from erasure.models.networks import MLP, SmallCNN
from erasure.models.resnet import ResNet18
from erasure.unlearners import importance
from erasure.unlearners.importance import diagonal_fisher, fisher_sum

CLASSES = 4


def tiny_mlp() -> tuple[torch.nn.Module, Data]:
    # dropout: on in train mode, so a result equal to the eval-mode loop shows it is off
    torch.manual_seed(0)
    model = MLP(input_shape=(6,), num_classes=CLASSES, hidden=[5], dropout=0.5)
    return model, data_of(torch.randn(30, 6))


def tiny_cnn(side: int = 8) -> tuple[torch.nn.Module, Data]:
    torch.manual_seed(1)
    model = SmallCNN(input_shape=(1, side, side), num_classes=CLASSES, channels=(2, 3), hidden=5)
    return with_running_statistics(model), data_of(torch.randn(30, 1, side, side))


def tiny_cnn_28() -> tuple[torch.nn.Module, Data]:
    return tiny_cnn(28)


def tiny_resnet() -> tuple[torch.nn.Module, Data]:
    # a residual add, a 1×1 stride-2 shortcut convolution, batch norms followed by in-place ReLUs
    torch.manual_seed(3)
    model = ResNet18(input_shape=(3, 8, 8), num_classes=CLASSES, width=2, blocks=(1, 1, 1, 1))
    return with_running_statistics(model), data_of(torch.randn(30, 3, 8, 8))


def odd_convs() -> tuple[torch.nn.Module, Data]:
    # a non-square kernel, dilation, uneven stride and padding; a 1×1 convolution without bias
    torch.manual_seed(8)
    model = nn.Sequential(
        nn.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(2, 1), dilation=2), nn.ReLU(),
        nn.Conv2d(3, 2, 1, bias=False), nn.Flatten(), nn.Linear(2 * 8 * 4, CLASSES))
    return model, data_of(torch.randn(30, 2, 8, 8))


class Tokens(nn.Module):
    """A linear layer on 3-D input (batch × positions × features), a batch norm on 3-D input, and
    a layer whose output does not reach the logits."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(5)
        self.unused = nn.Linear(3, 2)
        self.head = nn.Linear(20, CLASSES, bias=False)

    def forward(self, x):
        self.unused(x)
        return self.head(torch.tanh(self.norm(self.embed(x))).flatten(1))


def tokens() -> tuple[torch.nn.Module, Data]:
    torch.manual_seed(4)
    return with_running_statistics(Tokens()), data_of(torch.randn(30, 5, 3))


def with_running_statistics(model: nn.Module) -> nn.Module:
    with torch.no_grad():  # running statistics other than the initial 0 and 1
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return model


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


def channels_last(make):
    def channels_last_twin() -> tuple[torch.nn.Module, Data]:
        model, data = make()
        data.x = data.x.contiguous(memory_format=torch.channels_last)
        return model.to(memory_format=torch.channels_last), data
    return channels_last_twin


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


CLOSED_FORM = [tiny_mlp, tiny_cnn, tiny_cnn_28, channels_last(tiny_cnn), channels_last(tiny_cnn_28),
               tiny_resnet, channels_last(tiny_resnet), odd_convs, tokens]


@pytest.mark.parametrize("make", CLOSED_FORM)
@pytest.mark.parametrize("labels", ["expected", "true"])
def test_the_closed_form_equals_the_torch_func_path(make, labels):
    model, data = make()
    model.train()
    index = data["all"]
    layers = importance.closed_form_layers(model, data.x[:2])
    assert layers is not None
    fast = importance.closed_form_sum(model, layers, data, index, labels, 7)
    assert model.training  # the mode is restored
    reference = importance.squared_gradient_sum(model, data, index, labels, 7)
    reached = {name for name in reference if not name.startswith("unused")}
    assert all(not fast[name].any() and not reference[name].any()
               for name in reference.keys() - reached)
    assert all(reference[name].abs().max() > 0 for name in reached)
    assert relative_error({name: fast[name] for name in reached},
                          {name: reference[name] for name in reached}) < 1e-6  # measured ≤ 3.9e-7


@pytest.mark.parametrize("make", [tiny_cnn_28, tiny_resnet])
def test_bf16_networks_with_batch_norm_take_the_closed_form(make):
    # in bf16 (the torch.func path runs in fp32: batch norm under vmap and autocast gets bf16
    # inputs and fp32 weights and fails — see the next test)
    model, data = make()
    fp32 = fisher_sum(model, data, data["all"], labels="expected")
    bf16 = fisher_sum(prepare_model(model, Acceleration(precision="bf16")), data, data["all"],
                      labels="expected")
    assert all(t.dtype == torch.float32 for t in bf16.values())
    assert relative_error(bf16, fp32) < 0.15  # bf16's 8-bit mantissa: measured 0.049, 0.021


def test_bf16_networks_outside_the_closed_form_compute_their_importances_in_fp32():
    """A batch norm behind a grouped convolution takes the torch.func path, where bf16 autocast
    under vmap fails in torch; it runs in fp32 there, giving the fp32 network's importances, while
    the network's ordinary forward stays bf16."""
    torch.manual_seed(0)
    model = with_running_statistics(nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, groups=2), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
        nn.Linear(4 * 8 * 8, CLASSES)))
    data = data_of(torch.randn(30, 2, 8, 8))
    assert importance.closed_form_layers(model, data.x[:2]) is None
    fp32 = fisher_sum(model, data, data["all"], labels="expected")
    with torch.no_grad():
        plain = model.eval()(data.x)
    bf16_model = prepare_model(copy.deepcopy(model), Acceleration(precision="bf16"))
    bf16 = fisher_sum(bf16_model, data, data["all"], labels="expected")
    assert all(torch.equal(bf16[name], fp32[name]) for name in fp32)
    with torch.no_grad():
        assert not torch.equal(bf16_model.eval()(data.x), plain)  # bf16 outside


class Twice(nn.Module):
    """One linear layer applied twice: a weight shared across calls."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(6, 6)
        self.head = nn.Linear(6, CLASSES)

    def forward(self, x):
        return self.head(self.layer(torch.relu(self.layer(x))))


class Scaled(nn.Module):
    """A parameter of its own, outside any linear, convolution or batch-norm layer."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.5))
        self.head = nn.Linear(6, CLASSES)

    def forward(self, x):
        return self.head(self.scale * x)


def twice() -> tuple[torch.nn.Module, Data]:
    torch.manual_seed(6)
    return Twice(), data_of(torch.randn(30, 6))


def scaled() -> tuple[torch.nn.Module, Data]:
    torch.manual_seed(7)
    return Scaled(), data_of(torch.randn(30, 6))


def grouped() -> tuple[torch.nn.Module, Data]:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.Flatten(), nn.Linear(4 * 36, CLASSES))
    return model, data_of(torch.randn(30, 2, 8, 8))


@pytest.fixture
def paths(monkeypatch):
    """Counts the calls of each path of :func:`fisher_sum`."""
    calls = {"closed form": 0, "torch.func": 0}

    def counted(name, function):
        def spy(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return spy

    monkeypatch.setattr(importance, "closed_form_sum",
                        counted("closed form", importance.closed_form_sum))
    monkeypatch.setattr(importance, "squared_gradient_sum",
                        counted("torch.func", importance.squared_gradient_sum))
    return calls


@pytest.mark.parametrize("make", [
    tiny_gcn,  # graph convolutions use their linear layers' weights outside the layers' forward
    twice, scaled, grouped,
])
def test_other_networks_take_the_torch_func_path(make, paths):
    model, data = make()
    model.train()
    fisher = diagonal_fisher(model, data, "all", labels="expected", batch_size=7)
    assert paths == {"closed form": 0, "torch.func": 1}
    assert model.training
    assert relative_error(fisher, brute_force(model, data, "all", "expected")) < 2e-6  # ≤ 4.5e-7


@pytest.mark.parametrize("make", CLOSED_FORM)
def test_networks_of_supported_layers_take_the_closed_form(make, paths):
    model, data = make()
    fisher_sum(model, data, data["all"])
    assert paths == {"closed form": 1, "torch.func": 0}


def test_automatic_batch_sizes_are_those_the_comments_state():
    """The CPU batch sizes :data:`importance.CPU_WORKING_SET` was tuned to pick (measured
    fastest ranges in its comment): closed form 1024 / 516 / 57 / 4 for the MLP, SmallCNN on
    8×8 and 28×28, ResNet-18 on 32×32; torch.func 45 / 27 / 3 (expected Fisher) and
    445 / 225 / 25 (empirical)."""
    networks = [(MLP(input_shape=(64,), num_classes=10), (64,)),
                (SmallCNN(input_shape=(1, 8, 8), num_classes=10), (1, 8, 8)),
                (SmallCNN(input_shape=(1, 28, 28), num_classes=10), (1, 28, 28))]
    closed, expected, empirical = [], [], []
    for model, shape in networks + [(ResNet18(input_shape=(3, 32, 32), num_classes=10),
                                     (3, 32, 32))]:
        sample = torch.rand(2, *shape)
        closed.append(importance.closed_form_batch_size(
            model, importance.closed_form_layers(model, sample), sample))
    for model, shape in networks:
        sample = torch.rand(1, *shape)
        expected.append(importance.per_sample_batch_size(model, sample=sample, gradients=10))
        empirical.append(importance.per_sample_batch_size(model, sample=sample))
    assert closed == [1024, 516, 57, 4]
    assert expected == [45, 27, 3] and empirical == [445, 225, 25]


@pytest.mark.parametrize("labels", ["true", "expected"])
def test_a_frozen_bias_gets_no_importance_and_the_rest_equals_torch_func(labels):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    model[2].bias.requires_grad_(False)
    x, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    data = Data(Samples(x=x, y=y), {"all": torch.arange(20)}, torch.device("cpu"))
    assert importance.closed_form_layers(model, x[:2]) is not None
    closed = fisher_sum(model, data, torch.arange(20), labels=labels)
    reference = importance.squared_gradient_sum(model, data, torch.arange(20), labels=labels,
                                                batch_size=8)
    assert sorted(closed) == sorted(reference) == ["0.bias", "0.weight", "2.weight"]
    for name in closed:
        assert torch.allclose(closed[name], reference[name], rtol=1e-4, atol=1e-7), name
