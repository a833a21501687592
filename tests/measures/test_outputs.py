"""OutputStore: each model's outputs per partition, computed once, in batches, under inference."""
import torch
import torch.nn.functional as F
from torch import nn

from erasure.measures import Evaluator, Outputs, OutputStore
from tests.unlearners import fixtures as fx

CLASSES = 3


def small_data(eval_batch_size=4):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=g)
    y = torch.arange(40) % CLASSES
    return fx.tiny_data(x, y, {"forget": list(range(0, 40, 3)), "retain": list(range(1, 40, 3)),
                               "test": list(range(2, 40, 3)) + [0], "empty": []},
                        eval_batch_size=eval_batch_size, num_classes=CLASSES)


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, CLASSES)).train()


def test_outputs_equal_a_manual_forward_pass_in_eval_mode():
    data, net = small_data(eval_batch_size=2), model()
    store = OutputStore(net, data)
    out = store("forget")

    x, y = data.tensors("forget")
    net.eval()
    with torch.no_grad():
        expected = net(x)
    assert torch.allclose(out.logits, expected, atol=1e-6)  # dropout off, batches in order
    assert torch.equal(out.labels, y)
    assert not out.logits.requires_grad and out.logits.grad_fn is None  # no autograd graph
    assert torch.allclose(out.losses, F.cross_entropy(expected, y, reduction="none"), atol=1e-6)
    assert torch.equal(out.predictions, expected.argmax(1))
    assert torch.allclose(out.probabilities.sum(1), torch.ones(len(y)))
    # the same outputs twice (no dropout noise, no second evaluation)
    assert store("forget") is out and store.computed == 1
    empty = store("empty")
    assert empty.logits.shape == (0, CLASSES) and empty.losses.shape == (0,)


def test_each_partition_is_computed_once_however_many_measures_read_it():
    data = small_data()
    ctx = fx.measure_context(data, {"original": model(), "unlearned": model()})
    evaluator = fx.build({"class": "Evaluator", "parameters": {"measures": [
        {"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}},
        {"class": "PerClassAccuracy", "parameters": {"partition": "forget", "target": "unlearned"}},
        {"class": "UMIA", "parameters": {"n_splits": 2}},
        {"class": "LossAttack", "parameters": {"partition": "forget"}},
    ]}}, Evaluator)
    metrics, failures, _ = evaluator.evaluate(ctx, record="r")

    assert failures == {}
    assert sum(k.startswith(("accuracy.", "umia.", "loss_auc.")) for k in metrics) == 6 + 2 + 2
    assert ctx.outputs["unlearned"].computed == 3  # forget, retain, test
    assert ctx.outputs["original"].computed == 3


def test_outputs_are_computed_once_per_record_on_digits():
    measures = [{"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}},
                {"class": "UMIA"}, {"class": "PerClassAccuracy", "parameters": {"partition": "forget"}},
                {"class": "tests.unlearners.fixtures.CountOutputs"}]
    session = fx.session("random", [{"class": "Identity"}], measures)
    m = session.unlearn(0)["metrics"]
    assert m["outputs.computed.unlearned"] == 3.0
    # the original's outputs are shared by every record: never more than its three partitions
    assert m["outputs.computed.original"] <= 3.0
    assert session.unlearn(1)["metrics"]["outputs.computed.unlearned"] == 3.0


def test_outputs_derive_losses_and_predictions_from_logits():
    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    out = Outputs(logits, torch.tensor([0, 0, 1]))
    assert out.predictions.tolist() == [0, 1, 0]
    expected = [torch.log1p(torch.exp(torch.tensor(-2.0))), torch.log1p(torch.exp(torch.tensor(3.0))),
                torch.log(torch.tensor(2.0))]
    assert torch.allclose(out.losses, torch.stack(expected))


def test_an_unlearned_model_with_the_original_or_gold_weights_reads_their_outputs():
    import copy

    session = fx.session("random", [{"class": "Identity"}],
                         [{"class": "tests.unlearners.fixtures.CountOutputs"}])
    ctx = session._measure_context(copy.deepcopy(session.original), {}, {})
    assert ctx.same_as == "original" and ctx.outputs["unlearned"] is ctx.outputs["original"]
    ctx = session._measure_context(copy.deepcopy(session.golds["retain"]), {}, {})
    assert ctx.same_as == "gold/retain"
    assert ctx.outputs["unlearned"] is ctx.gold_outputs["retain"]
    # one weight one float step away: a model of its own, with outputs of its own
    changed = copy.deepcopy(session.original)
    with torch.no_grad():
        weight = next(changed.parameters()).view(-1)
        weight[0] = torch.nextafter(weight[0], torch.tensor(float("inf")))
    ctx = session._measure_context(changed, {}, {})
    assert ctx.same_as is None and ctx.outputs["unlearned"] is not ctx.outputs["original"]
    assert ctx.outputs["unlearned"].computed == 0
