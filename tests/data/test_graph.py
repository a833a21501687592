"""Graph data: the PyTorch Geometric source, the GCN, and node forgetting that deletes edges.

Offline data only: KarateClub (shipped with PyG) and FakeDataset (generated, seeded).
"""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
import torch

pytest.importorskip("torch_geometric")

from erasure import Session, prepare, run  # noqa: E402
from erasure.config import ConfigError, load_config  # noqa: E402
from erasure.data import Graph  # noqa: E402
from erasure.data.sources import DataLoadError, PyGDataSource  # noqa: E402
from erasure.models.graph import GCN, GraphConv, graphs_of  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "data"
KARATE = CONFIGS / "karate_club.jsonc"


@pytest.fixture(scope="module")
def karate():
    return PyGDataSource(dataset="KarateClub").load()


def test_karate_club_nodes_are_the_samples(karate):
    assert karate.x.tolist() == list(range(34))
    assert karate.y.shape == (34,) and sorted(set(karate.y.tolist())) == [0, 1, 2, 3]
    assert karate.graph.node_level and karate.graph.features.shape == (34, 34)
    assert karate.graph.edge_index.shape == (2, 156)
    # its 4 labelled members are the public train mask, given as the "split" group
    assert karate.group_values["split"] == ["train", "unused"]
    assert int((karate.groups["split"] == 0).sum()) == 4


def test_graph_conv_equals_pyg_gcnconv(karate):
    from torch_geometric.nn import GCNConv
    from torch_geometric.utils import to_undirected

    graph = karate.graph
    theirs, ours = GCNConv(34, 5), GraphConv(34, 5)
    with torch.no_grad():
        ours.linear.weight.copy_(theirs.lin.weight)
        ours.linear.bias.copy_(theirs.bias)
    expected = theirs(graph.features, graph.edge_index)
    assert torch.allclose(ours(graph.features, graph), expected, atol=1e-6)
    # one direction of each edge is enough: propagation is over the undirected graph
    one_way = graph.edge_index[:, graph.edge_index[0] < graph.edge_index[1]]
    assert torch.allclose(ours(graph.features, Graph(graph.features, one_way)),
                          theirs(graph.features, to_undirected(one_way)), atol=1e-6)


def test_without_removes_exactly_the_edges_touching_the_nodes(karate):
    graph = karate.graph
    gone = torch.tensor([0, 33])
    after = graph.without(gone)
    ends = torch.isin(graph.edge_index, gone).any(0)
    assert after.touching(gone) == 0
    assert after.edge_index.shape[1] == graph.edge_index.shape[1] - int(ends.sum()) > 0
    assert torch.equal(after.edge_index, graph.edge_index[:, ~ends])
    assert after.features is graph.features  # features shared, node ids keep their meaning
    # an isolated node's output depends on its own features only
    model = GCN(after, 4, hidden=[8], dropout=0.0).eval()
    changed = after.features.clone()
    changed[1] += 1.0  # a neighbour of 0 in the full graph
    with torch.no_grad():
        before = model(torch.tensor([0]))
        model.graph = Graph(changed, after.edge_index)
        assert torch.equal(model(torch.tensor([0])), before)


def test_a_model_copy_shares_its_graph(karate):
    model = GCN(karate.graph, 4)
    clone = copy.deepcopy(model)
    assert clone.graph is model.graph
    assert clone.convs[0].linear.weight.data_ptr() != model.convs[0].linear.weight.data_ptr()
    assert "graph" not in "".join(model.state_dict())


def fake(**options):
    return PyGDataSource(dataset="FakeDataset", options={
        "num_graphs": 40, "avg_num_nodes": 10, "num_channels": 6, "num_classes": 2, **options})


def test_fake_graph_collection_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    random.seed(123)
    state, pystate = torch.get_rng_state(), random.getstate()
    a, b = fake().load(), fake().load()
    assert torch.get_rng_state().equal(state) and random.getstate() == pystate
    assert torch.equal(a.graph.features, b.graph.features) and torch.equal(a.y, b.y)
    other = PyGDataSource(dataset="FakeDataset", seed=1, options={
        "num_graphs": 40, "avg_num_nodes": 10, "num_channels": 6, "num_classes": 2}).load()
    assert not torch.equal(other.graph.features[:10], a.graph.features[:10])
    # a collection: samples are graphs, every node belongs to one
    assert a.x.tolist() == list(range(40)) and a.graph.num_graphs == 40
    assert not a.graph.node_level
    owner = a.graph.node_graph
    assert torch.equal(owner[a.graph.edge_index[0]], owner[a.graph.edge_index[1]])


def test_gcn_pools_each_graph_separately():
    samples = fake().load()
    model = GCN(samples.graph, 2, hidden=[8], dropout=0.0).eval()
    with torch.no_grad():
        together = model(torch.tensor([3, 7]))
        alone = model(torch.tensor([7]))
        # changing graph 3's features does not change graph 7's output
        changed = samples.graph.features.clone()
        changed[samples.graph.node_graph == 3] += 5
        model.graph = Graph(changed, samples.graph.edge_index, samples.graph.node_graph)
        assert torch.allclose(model(torch.tensor([7])), alone)
        assert not torch.allclose(model(torch.tensor([3])), together[:1])
    assert torch.allclose(together[1:], alone)


def test_missing_dataset_without_download_is_one_clear_error(tmp_path):
    source = PyGDataSource(dataset="Planetoid", options={"name": "Cora"}, root=str(tmp_path))
    with pytest.raises(DataLoadError) as e:
        source.load()
    message = str(e.value)
    assert f"Planetoid is not in '{tmp_path}'" in message and "ind.cora.x" in message
    assert "download is off" in message and '"download": true' in e.value.hint


def test_unknown_dataset_suggests_a_name():
    with pytest.raises(DataLoadError) as e:
        PyGDataSource(dataset="Planetoi").load()
    assert "Did you mean 'Planetoid'?" in e.value.hint


def test_node_level_regression_targets_are_refused():
    source = PyGDataSource(dataset="FakeDataset", options={"num_graphs": 1, "avg_num_nodes": 20})
    samples = source.load()  # FakeDataset node labels are classes: fine
    assert samples.graph.node_level and len(samples.y) == samples.graph.num_nodes


def karate_config(**predictor) -> dict:
    config = load_config(KARATE)
    config["globals"]["device"] = "cpu"
    config["predictor"]["parameters"].update(predictor)
    return config


@pytest.fixture(scope="module")
def karate_session():
    session = Session(prepare(karate_config()), seed=0)
    session.load_data()
    session.train_models()
    return session


def test_gold_model_never_sees_a_forgotten_node(karate_session):
    session = karate_session
    forget = session.data["forget"]
    original, gold = graphs_of(session.original), graphs_of(session.golds["retain"])
    assert len(original) == len(gold) == 1
    assert original[0].touching(forget) > 0  # the original trained with their edges
    assert gold[0].touching(forget) == 0
    # nothing else is removed: every edge not touching a forgotten node is still there
    full = session.data.graph
    kept = ~torch.isin(full.edge_index, forget).any(0)
    assert torch.equal(gold[0].edge_index, full.edge_index[:, kept])


def test_unlearned_models_serve_on_the_graph_after_deletion():
    from tests.unlearners.fixtures import CAPTURED

    config = karate_config()
    config["unlearners"] = [{"class": "Identity"}, {"class": "Finetuning"}]
    config["evaluator"]["parameters"]["measures"] = [
        {"class": "tests.unlearners.fixtures.Capture"}]
    CAPTURED.clear()
    session = Session(prepare(config), seed=0)
    session.load_data()
    session.train_models()
    records = [session.unlearn(i) for i in range(2)]
    assert [r["status"] for r in records] == ["finished", "finished"]
    forget = session.data["forget"]
    for models in CAPTURED:
        assert graphs_of(models["original"])[0].touching(forget) > 0
        assert graphs_of(models["unlearned"])[0].touching(forget) == 0
    # Identity keeps the weights: only the served graph differs from the original
    identity = CAPTURED[0]["unlearned"]
    for a, b in zip(identity.parameters(), session.original.parameters()):
        assert torch.equal(a, b)


def test_karate_config_runs_end_to_end(tmp_path):
    plan = prepare(karate_config(), config_file=KARATE)
    doc = json.loads(run(plan, output=tmp_path / "out").read_text())
    assert doc["status"] == "finished"
    records = {r["name"]: r for r in doc["records"]}
    assert set(records) == {"GoldModel", "Finetuning", "Scrub"}
    for record in records.values():
        assert record["status"] == "finished" and record["failed_measures"] == {}, record
        assert 0.0 <= record["metrics"]["umia.forget.unlearned"] <= 1.0
    gold = records["GoldModel"]["metrics"]
    # the GCN learns the communities: well above chance (0.25) on unseen members
    assert gold["accuracy.test.original"] >= 0.7
    assert gold["accuracy.retain.unlearned"] >= 0.9
    # retrained without them, the forgotten members are predicted worse than by the original
    assert gold["accuracy.forget.unlearned"] < gold["accuracy.forget.original"]


def test_graph_classification_runs_end_to_end(tmp_path):
    config = load_config(CONFIGS / "graph_classification.jsonc")
    config["globals"]["device"] = "cpu"
    config["data"]["parameters"]["DataSource"]["parameters"] = {
        "dataset": "FakeDataset", "options": {"num_graphs": 120, "avg_num_nodes": 8,
                                              "num_channels": 4, "num_classes": 2}}
    config["predictor"]["parameters"]["epochs"] = 3
    doc = json.loads(run(prepare(config), output=tmp_path / "out").read_text())
    assert [r["status"] for r in doc["records"]] == ["finished", "finished"]
    assert doc["partitions"]["all"] == 120 and doc["partitions"]["forget"] == 10
    assert "umia.forget.unlearned" in doc["records"][0]["metrics"]


def test_graph_data_needs_a_graph_network():
    config = karate_config(model={"class": "MLP"})
    session = Session(prepare(config), seed=0)
    session.load_data()
    with pytest.raises(ConfigError, match="the data is a graph, but MLP takes no graph"):
        session.train_models()


def test_standardize_is_refused_for_graph_data():
    config = karate_config()
    config["data"]["parameters"]["standardize"] = "train"
    with pytest.raises(ConfigError, match="graph data keeps its node features in the graph"):
        Session(prepare(config), seed=0).load_data()


def test_every_built_in_unlearner_runs_on_a_graph_or_says_why_not(tmp_path):
    """All unlearners take node-id batches through the GCN; UNSIR, which learns input-space
    noise, is recorded as failed with the reason."""
    example = load_config(CONFIGS.parent / "example.jsonc")
    config = karate_config(epochs=30)
    config["unlearners"] = example["unlearners"]
    config["evaluator"]["parameters"]["measures"] = [
        {"class": "Accuracy", "parameters": {"partition": ["forget", "retain"]}}]
    doc = json.loads(run(prepare(config), output=tmp_path / "out").read_text())
    records = {r["name"]: r for r in doc["records"]}
    failed = {name: r["error"] for name, r in records.items() if r["status"] != "finished"}
    assert failed == {"UNSIR": "ValueError: UNSIR learns noise in the input space, so it needs "
                               "feature inputs; these samples are ids into a graph (graph data), "
                               "which have none"}
    assert records["GoldModel"]["metrics"]["accuracy.forget.unlearned"] < \
        records["Identity"]["metrics"]["accuracy.forget.unlearned"]


def test_relearning_counts_a_node_level_graph_in_one_forward_per_step(karate_session):
    """Every forward of a node-level GCN propagates over the whole graph, so the relearning
    count runs all forget nodes in one forward per step rather than in chunks; the
    answers are those of counting everything."""
    from torch import nn

    from erasure.measures.relearn import Relearning

    session = karate_session
    data, gold = session.data, session.golds["retain"]
    forget = data["forget"]
    n = len(forget)
    sgd = lambda params: torch.optim.SGD(params, lr=0.05)  # noqa: E731
    reference = []  # the correct count after every step, counting everything, by hand
    twin = Relearning(copy.deepcopy(gold), data, "forget", sgd, nn.CrossEntropyLoss(), 4, 15, 3)
    twin._restart()
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(twin._rng)
        for step in range(16):
            twin._student.eval()
            with torch.no_grad():
                reference.append(int((twin._student(data.x[forget]).argmax(1)
                                      == data.y[forget]).sum()))
            if step < 15:
                twin._train_to(step + 1)
    goal = max(reference)
    assert reference[0] < goal < n  # measured: 4 of 10 at first, 8 at most (step 9)
    model = copy.deepcopy(gold)
    forwards = []
    model.register_forward_hook(
        lambda module, inputs, out: forwards.append(len(out)) if not module.training else None)
    run = Relearning(model, data, "forget", sgd, nn.CrossEntropyLoss(), 4, 15, 3)
    steps, capped = run.steps_to(goal)
    assert (steps, capped) == (reference.index(goal), False)
    assert forwards == [n] * (steps + 1)  # the start count, then one forward per step


def test_relearning_counts_a_graph_collection_in_one_forward():
    """A graph-classification GCN also propagates over every graph of the collection at each
    forward: the count takes one forward, with the same bounds as counting by hand."""
    from types import SimpleNamespace

    from erasure.measures.relearn import correct_bounds

    samples = fake().load()
    torch.manual_seed(0)
    model = GCN(samples.graph, 2, hidden=[8], dropout=0.0)
    data = SimpleNamespace(x=samples.x, y=samples.y, graph=samples.graph, eval_batch_size=256)
    forwards = []
    model.register_forward_hook(lambda module, inputs, out: forwards.append(len(out)))
    index = torch.arange(40)
    with torch.no_grad():
        truth = int((model.eval()(index).argmax(1) == samples.y).sum())
    forwards.clear()
    low, high, wrong = correct_bounds(model, data, index, 0.5 * 40)
    assert forwards == [40]
    assert low == high == truth and len(wrong) == 40 - truth
