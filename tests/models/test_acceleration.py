"""Hardware settings (globals.precision / channels_last / compile): bf16 trains to a sane accuracy
on CPU, channels-last predicts what the contiguous network predicts, compile falls back with a
warning where it cannot work, and with everything off nothing changes at all."""
from __future__ import annotations

import copy
import logging
import pickle
import sys
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn


from erasure.config import ConfigError
from erasure.data import DatasetManager, PercentageSplit, SklearnDataSource
from erasure.experiment import Session
from erasure.measures import Measure, OutputStore
from erasure.models import MLP, SmallCNN, acceleration, fit
from erasure.models.acceleration import (OFF, Acceleration, channels_last_for,
                                         channels_last_problem, full_precision, handed_back,
                                         is_prepared, prepare_model)
from erasure.plan import prepare
from erasure.seeding import seeded
from erasure.unlearners import Unlearner
from tests.helpers import accuracy, digits_config
from tests.models import fixtures as user_networks

ERASURE = Path(acceleration.__file__).resolve().parent.parent


@pytest.fixture
def compile_state():
    """Restores the module's compile backend and what it learnt about compiling."""
    backend = acceleration.BACKEND
    acceleration.reset()
    yield
    acceleration.BACKEND = backend
    acceleration.reset()


def failing_backend(graph_module, example_inputs):
    raise RuntimeError("no compiler on this machine (simulated)")


def session(image=False, model=None, epochs=30, **globals_):
    config = digits_config(image=image, model=model, epochs=epochs,
                           unlearners=[{"class": "Finetuning", "parameters": {"epochs": 1}}])
    config["globals"].update(cache=False, **globals_)
    s = Session(prepare(config), seed=0)
    s.load_data()
    s.train_models()
    return s


def nhwc(model) -> bool:
    """Whether the network's last convolution holds NHWC weights (the first one's, with one input
    channel, are NHWC and NCHW at once)."""
    weight = [p for p in model.parameters() if p.ndim == 4][-1]
    assert weight.shape[1] > 1
    return weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()


def digits(image=False):
    manager = DatasetManager(DataSource=SklearnDataSource(shape="image" if image else "flat"),
                             partitions=[PercentageSplit(parts_names=["train", "test"], percentage=0.8)])
    return manager.load(seed=0)


# -- everything off: nothing changes --------------------------------------------------------

def test_options_off_leave_the_model_untouched():
    model = SmallCNN(input_shape=(1, 8, 8), num_classes=10)
    strides = {k: v.stride() for k, v in model.state_dict().items()}
    assert prepare_model(model, OFF) is model
    assert not is_prepared(model) and "forward" not in model.__dict__
    assert {k: v.stride() for k, v in model.state_dict().items()} == strides
    assert not OFF.enabled


@pytest.mark.parametrize("image", [False, True])
def test_options_off_train_bit_identical_weights(image):
    plan = prepare(digits_config(epochs=3, image=image,
                                 model={"class": "SmallCNN"} if image else None))
    data = plan.data.load(0)

    def train(predictor):
        with seeded(0, "init"):
            model = predictor.new_model(data)
        with seeded(0, "fit"):
            predictor.train(model, data, "train", torch.Generator().manual_seed(1))
        return model, OutputStore(model.eval(), data)("test").logits

    (plain, plain_out), (off, off_out) = train(plan.predictor), train(plan.predictor.accelerated(OFF))
    assert not is_prepared(off)
    assert plain.state_dict().keys() == off.state_dict().keys()
    assert all(torch.equal(v, off.state_dict()[k]) for k, v in plain.state_dict().items())
    assert torch.equal(plain_out, off_out)


def test_session_with_defaults_on_a_cpu_only_lays_cnns_out_channels_last():
    s = session(epochs=2)  # the MLP: no convolution, nothing to lay out
    assert s.acceleration == Acceleration(channels_last="checked")
    assert not is_prepared(s.original)
    assert all(p.is_contiguous() for p in s.original.parameters())
    assert s.unlearn(0)["status"] == "finished"
    cnn = session(image=True, model={"class": "SmallCNN"}, epochs=1)
    assert nhwc(cnn.original)
    assert cnn.data.x.stride() == torch.empty(cnn.data.x.shape).stride()  # the data stays NCHW
    assert session(epochs=1, channels_last=False).acceleration == OFF


def test_channels_last_auto_is_checked_on_cpus_and_off_elsewhere():
    assert channels_last_for("auto", "cpu") == channels_last_for("auto", torch.device("cpu")) \
        == "checked"
    assert channels_last_for("auto", "cuda") is False
    assert channels_last_for(True, "cuda") is True and channels_last_for(False, "cpu") is False
    with pytest.raises(ValueError):
        Acceleration(channels_last="auto")  # the config's word; the settings say "checked"


# -- the settings travel with the predictor -----------------------------------------------------

HERE = "tests.models.test_acceleration"


class FreshNetwork(Unlearner):
    """Returns a freshly initialised network from ``ctx.predictor``."""

    def unlearn(self, model, ctx):
        return ctx.predictor.new_model(ctx.data)


class Prepared(Measure):
    """1.0 where a network is prepared: the unlearned one, and a fresh one from ``ctx.predictor``."""

    name = "prepared"

    def measure(self, ctx):
        return {"prepared.unlearned": float(is_prepared(ctx.models["unlearned"])),
                "prepared.fresh": float(is_prepared(ctx.predictor.new_model(ctx.data)))}


def test_an_accelerated_predictor_is_a_copy_and_the_plans_stays_off():
    plan = prepare(digits_config(epochs=1))
    data = plan.data.load(0)
    bf16 = Acceleration(precision="bf16")
    recipe = plan.predictor.accelerated(bf16)
    assert recipe.acceleration is bf16 and plan.predictor.acceleration == OFF
    assert recipe.config == plan.predictor.config and "acceleration" not in str(recipe.config)
    assert is_prepared(recipe.new_model(data)) and not is_prepared(plan.predictor.new_model(data))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_unlearners_and_measures_build_networks_with_the_sessions_settings(precision):
    config = digits_config(epochs=1, unlearners=[{"class": f"{HERE}.FreshNetwork"}],
                           measures=[{"class": f"{HERE}.Prepared"}])
    config["globals"].update(cache=False, precision=precision)
    s = Session(prepare(config), seed=0)
    s.load_data()
    s.train_models()
    record = s.unlearn(0)
    assert record["status"] == "finished", record["error"]
    expected = 1.0 if precision == "bf16" else 0.0
    assert record["metrics"] == {"prepared.unlearned": expected, "prepared.fresh": expected}
    assert s.predictor.acceleration == s.acceleration and s.plan.predictor.acceleration == OFF
    # a stage called outside any session context builds the same: nothing is ambient
    assert is_prepared(s.predictor.new_model(s.data)) == (precision == "bf16")


def test_full_precision_runs_only_the_given_network_in_fp32_for_the_block():
    model = prepare_model(MLP(input_shape=(64,), num_classes=10), Acceleration(precision="bf16"))
    other = copy.deepcopy(model)
    seen = {"model": [], "other": []}
    model.layers[1].register_forward_hook(lambda m, i, o: seen["model"].append(o.dtype))
    other.layers[1].register_forward_hook(lambda m, i, o: seen["other"].append(o.dtype))
    x = torch.randn(5, 64)
    with full_precision(model) as inside:
        assert inside is model
        out = model(x)
        other(x)
    model(x)
    assert seen == {"model": [torch.float32, torch.bfloat16], "other": [torch.bfloat16]}
    assert out.dtype == torch.float32
    wrapper = nn.Sequential(other)  # a prepared network inside another module
    with full_precision(wrapper):
        wrapper(x)
    assert seen["other"][-1] == torch.float32


# -- bf16 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("image, model, epochs, least", [
    (False, None, 30, 0.93),
    (True, {"class": "SmallCNN"}, 15, 0.93),
])
def test_bf16_trains_to_a_sane_accuracy_on_cpu(image, model, epochs, least):
    s = session(image=image, model=model, epochs=epochs, precision="bf16")
    assert s.acceleration.precision == "bf16" and is_prepared(s.original)
    assert accuracy(s.original, s.data, "test") > least
    outputs = OutputStore(s.original, s.data)("test")
    assert outputs.logits.dtype == torch.float32  # measures see fp32 logits
    record = s.unlearn(0)  # the unlearner's copy keeps the setting
    assert record["status"] == "finished", record["error"]
    assert record["metrics"]["accuracy.test.unlearned"] > least - 0.05


def test_bf16_computes_in_bf16_and_returns_fp32():
    model = prepare_model(MLP(input_shape=(64,), num_classes=10), Acceleration(precision="bf16"))
    seen = []
    model.layers[1].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    out = model(torch.randn(5, 64))
    assert seen == [torch.bfloat16] and out.dtype == torch.float32
    out.sum().backward()  # gradients reach the fp32 weights
    assert model.layers[1].weight.grad.dtype == torch.float32


def test_deep_copies_stay_prepared_and_use_their_own_weights():
    model = prepare_model(MLP(input_shape=(64,), num_classes=10), Acceleration(precision="bf16"))
    twin = copy.deepcopy(model)
    assert is_prepared(twin) and twin.forward.__self__ is twin
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    x = torch.randn(3, 64)
    assert torch.count_nonzero(model(x)) == 0 and torch.count_nonzero(twin(x)) > 0
    assert list(twin.state_dict()) == list(MLP(input_shape=(64,), num_classes=10).state_dict())


def test_bf16_fisher_and_ssd_importances_run():
    config = digits_config(epochs=5, unlearners=[{"class": "SSD"}, {"class": "FisherForgetting"}])
    config["globals"].update(cache=False, precision="bf16")
    s = Session(prepare(config), seed=0)
    s.load_data()
    s.train_models()
    for i in range(2):
        record = s.unlearn(i)
        assert record["status"] == "finished", record["error"]


# -- channels-last ------------------------------------------------------------------------------

def test_channels_last_predicts_what_the_contiguous_network_predicts():
    torch.manual_seed(0)
    data = digits(image=True)
    model = SmallCNN(input_shape=(1, 8, 8), num_classes=10)
    fit(model, lambda: data.batches("train", 64, shuffle=True, generator=torch.Generator().manual_seed(0)),
        torch.optim.Adam(model.parameters(), 3e-3), nn.CrossEntropyLoss(), 3)
    model.eval()
    twin = prepare_model(copy.deepcopy(model), Acceleration(channels_last=True))
    assert twin.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not is_prepared(twin)  # channels-last alone needs no forward of its own
    x = data.x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        expected, got = model(data.x), twin(x)
    assert torch.allclose(expected, got, atol=1e-4, rtol=1e-4)
    assert torch.equal(expected.argmax(1), got.argmax(1))


def test_channels_last_session_stores_images_nhwc_and_leaves_mlps_alone():
    s = session(image=True, model={"class": "SmallCNN"}, epochs=3, channels_last=True)
    assert s.data.x.is_contiguous(memory_format=torch.channels_last)
    assert nhwc(s.original)
    assert s.unlearn(0)["status"] == "finished"
    mlp = MLP(input_shape=(64,), num_classes=10)
    assert prepare_model(mlp, Acceleration(channels_last=True)) is mlp and not is_prepared(mlp)


# -- channels_last auto: never breaks a user's network ------------------------------------------

LOGGER = "erasure.models.acceleration"


def fallbacks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and "stays NCHW" in r.getMessage()]


def handbacks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == LOGGER and "handing its output back NCHW" in r.getMessage()]


def user_session(network, epochs=2, **globals_):
    """Digits as 1×8×8 images through a user's network: the original, the gold model (two
    networks built), Finetuning and GoldModel, accuracies; ``channels_last`` as given (default:
    auto, on the CPU ``digits_config`` asks for)."""
    config = digits_config(image=True, epochs=epochs,
                           model={"class": f"{user_networks.HERE}.{network}"},
                           unlearners=[{"class": "Finetuning", "parameters": {"epochs": 1}},
                                       {"class": "GoldModel"}])
    config["globals"].update(cache=False, **globals_)
    s = Session(prepare(config), seed=0)
    s.load_data()
    s.train_models()
    return s


def test_a_cnn_flattening_with_view_runs_under_the_defaults_as_it_does_nchw(caplog):
    """The issue's crash: under ``auto`` the network's ``x.view(x.size(0), -1)`` raised after
    training had started. Now its convolutions run NHWC with the last feature map (its
    ``pool``'s) handed back NCHW, said once, and it gives the NCHW run's numbers."""
    with caplog.at_level(logging.INFO, logger=LOGGER):
        auto = user_session("ViewCNN")
        records = [auto.unlearn(i) for i in range(2)]
    assert auto.acceleration.channels_last == "checked"
    assert [r["status"] for r in records] == ["finished", "finished"], records
    for model in (auto.original, auto.golds["retain"]):
        assert nhwc(model) and handed_back(model) == ["pool"]
    assert not fallbacks(caplog)
    [line] = handbacks(caplog)  # one line, though two networks were built
    assert "ViewCNN" in line and "'pool'" in line and "view size is not compatible" in line
    nchw = user_session("ViewCNN", channels_last=False)
    assert not nhwc(nchw.original) and handed_back(nchw.original) == []
    expected = [nchw.unlearn(i) for i in range(2)]
    for got, want in zip(records, expected):
        accuracies = {k: v for k, v in want["metrics"].items() if k.startswith("accuracy.")}
        assert accuracies and {k: got["metrics"][k] for k in accuracies} == pytest.approx(
            accuracies, abs=1e-6)
    for name, value in nchw.original.state_dict().items():
        assert torch.allclose(auto.original.state_dict()[name], value, rtol=1e-4, atol=1e-5)


def test_a_handed_back_network_copies_pickles_and_trains_like_the_nchw_one():
    """The hook travels with the network (deep copies: the unlearners' copies; pickling: Ray
    and the model cache's workers) and one Adam epoch gives the NCHW network's weights."""
    data = digits(image=True)
    torch.manual_seed(0)
    start = user_networks.ViewCNN(input_shape=(1, 8, 8), num_classes=10)
    reference = copy.deepcopy(start)
    prepare_model(start, Acceleration(channels_last="checked"), data.x[:8])
    assert nhwc(start) and handed_back(start) == ["pool"]
    for model in (copy.deepcopy(start), pickle.loads(pickle.dumps(start))):
        assert nhwc(model) and handed_back(model) == ["pool"]
    trained = []
    for model in (start, reference):
        optimizer = torch.optim.Adam(model.parameters(), 3e-3)
        for i in range(0, 512, 64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(data.x[i:i + 64]), data.y[i:i + 64]).backward()
            optimizer.step()
        trained.append(model.state_dict())
    for name, value in trained[1].items():
        assert torch.allclose(trained[0][name], value, rtol=1e-4, atol=1e-5), name


def test_smallcnn_still_runs_nhwc_under_auto_with_the_weights_of_nhwc_data(caplog):
    """The built-in CNN is trusted without a check and keeps its NHWC speed; with the data left
    NCHW its first convolution converts each batch, to the same numbers as NHWC data."""
    with caplog.at_level(logging.INFO, logger=LOGGER):
        auto = session(image=True, model={"class": "SmallCNN"}, epochs=2)
    assert nhwc(auto.original) and not fallbacks(caplog)
    forced = session(image=True, model={"class": "SmallCNN"}, epochs=2, channels_last=True)
    for name, value in forced.original.state_dict().items():
        assert torch.allclose(auto.original.state_dict()[name], value, rtol=1e-5, atol=1e-6)
    # with three channels NCHW and NHWC images differ in memory: the same training steps
    torch.manual_seed(0)
    x, y = torch.randn(256, 3, 8, 8), torch.randint(0, 10, (256,))
    start = prepare_model(SmallCNN(input_shape=(3, 8, 8), num_classes=10),
                          Acceleration(channels_last="checked"), x[:8])
    assert nhwc(start)
    trained = []
    for images in (x, x.contiguous(memory_format=torch.channels_last)):
        model = copy.deepcopy(start)
        optimizer = torch.optim.Adam(model.parameters(), 3e-3)
        for i in range(0, len(y), 64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(images[i:i + 64]), y[i:i + 64]).backward()
            optimizer.step()
        trained.append(model.state_dict())
    for name, value in trained[0].items():
        assert torch.allclose(trained[1][name], value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("network, layout, handed", [
    ("FlattenCNN", "nhwc", None),  # passes the check
    ("ViewCNN", "nhwc", "pool"),  # raises under NHWC; its last feature map handed back NCHW
    ("ViewSmallCNN", "nhwc", "features"),  # a built-in's subclass is checked, not trusted
    ("MemoryOrderCNN", "nhwc", "pool"),  # computes something else under NHWC; handed back
    ("MidViewCNN", "nchw", None),  # a .view between its convolutions
    ("MidMemoryOrderCNN", "nchw", None),  # reads a feature map in memory order mid-network
])
def test_auto_gives_nhwc_weights_only_to_networks_that_pass_the_check(network, layout, handed,
                                                                      caplog):
    data = digits(image=True)
    torch.manual_seed(0)
    model = getattr(user_networks, network)(input_shape=(1, 8, 8), num_classes=10)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert prepare_model(model, Acceleration(channels_last="checked"), data.x[:8]) is model
    assert nhwc(model) == (layout == "nhwc")
    assert handed_back(model) == ([handed] if handed else [])
    assert len(fallbacks(caplog)) == (layout == "nchw")
    assert len(handbacks(caplog)) == (handed is not None)
    if network == "MidMemoryOrderCNN":
        assert "differ by up to" in fallbacks(caplog)[0]
    if network == "MidViewCNN":
        assert "view size is not compatible" in fallbacks(caplog)[0]
    torch.nn.functional.cross_entropy(model(data.x[:64]), data.y[:64]).backward()  # it trains


def test_the_check_leaves_the_network_and_the_random_state_as_they_were():
    data = digits(image=True)
    torch.manual_seed(0)
    model = user_networks.ViewCNN(input_shape=(1, 8, 8), num_classes=10).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    assert channels_last_problem(model, data.x[:8]).startswith("raises RuntimeError: view size")
    assert model.training and torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(v, before[k]) and v.is_contiguous() for k, v in model.state_dict().items())
    assert channels_last_problem(user_networks.FlattenCNN(input_shape=(1, 8, 8), num_classes=10),
                                 data.x[:8]) == ""


def test_channels_last_true_on_a_network_that_fails_nhwc_is_a_config_error():
    with pytest.raises(ConfigError) as e:
        user_session("ViewCNN", epochs=1, channels_last=True)
    assert "globals.channels_last" in str(e.value) and "ViewCNN" in str(e.value)
    assert ".reshape()" in str(e.value)


def test_channels_last_true_runs_a_network_that_computes_otherwise_with_a_warning(caplog):
    data = digits(image=True)
    model = user_networks.MemoryOrderCNN(input_shape=(1, 8, 8), num_classes=10)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        prepare_model(model, Acceleration(channels_last=True),
                      data.x[:8].contiguous(memory_format=torch.channels_last))
    assert nhwc(model)  # asked for explicitly: done, with a warning
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [logging.WARNING]


# -- compile --------------------------------------------------------------------------------------

def test_compile_falls_back_with_a_warning_when_compiling_fails(compile_state):
    acceleration.BACKEND = failing_backend
    with pytest.warns(RuntimeWarning, match="torch.compile does not work"):
        resolved = acceleration.resolve(Acceleration(compile=True, precision="bf16"), "cpu")
    assert resolved == Acceleration(precision="bf16")


def test_a_run_with_compile_never_crashes_where_compiling_fails(compile_state):
    acceleration.BACKEND = failing_backend
    with pytest.warns(RuntimeWarning, match="running without compile"):
        s = session(epochs=3, compile=True)
    assert not s.acceleration.compile
    assert s.unlearn(0)["status"] == "finished"


def test_a_compiled_call_that_fails_later_falls_back_to_eager(compile_state):
    acceleration.BACKEND = failing_backend
    acceleration._compile_problems["cpu"] = ""  # the probe passed, the real network fails
    model = MLP(input_shape=(64,), num_classes=10)
    expected = model(torch.ones(2, 64))
    prepare_model(model, Acceleration(compile=True))
    with pytest.warns(RuntimeWarning, match="torch.compile failed on MLP"):
        got = model(torch.ones(2, 64))
    assert torch.equal(got, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, then quietly eager
        model(torch.ones(2, 64))


def test_compiled_forward_matches_eager_and_survives_deep_copies(compile_state):
    acceleration.BACKEND = "eager"  # dynamo's tracing without code generation: fast, no compiler
    assert acceleration.compile_problem("cpu") == ""
    torch.manual_seed(0)
    model = MLP(input_shape=(64,), num_classes=10)
    x = torch.randn(7, 64)
    expected = model(x)
    prepare_model(model, Acceleration(compile=True))
    assert torch.allclose(model(x), expected)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        twin.layers[-1].bias.add_(1.0)
    assert torch.allclose(twin(x), expected + 1.0, atol=1e-6)
    assert torch.allclose(model(x), expected)
    assert not acceleration._compile_failed


# -- the config ------------------------------------------------------------------------------------

def test_globals_validate_the_settings():
    config = digits_config()
    config["globals"]["precision"] = "fp16"
    with pytest.raises(ConfigError) as e:
        prepare(config)
    assert "globals.precision" in str(e.value)
    config["globals"].update(precision="bf16", channels_last=True, compile=False)
    plan = prepare(config)
    assert plan.resolved["globals"]["precision"] == "bf16"
    with pytest.raises(ValueError):
        Acceleration(precision="fp8")


# -- in-memory data: no host transfers or syncs per batch -------------------------------------

#: Tensor methods that copy between host and device or wait for the device.
TRANSFERS = {"to", "cpu", "cuda", "item", "tolist", "numpy", "__float__", "__int__", "__bool__"}


class CountTransfers(torch.overrides.TorchFunctionMode):
    """Counts the transfer calls made by erasure's own code (not by torch internals such as
    Adam's reads of its host-side step counters)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in TRANSFERS:
            frame = sys._getframe(1)
            while frame.f_code.co_filename in (__file__, torch.overrides.__file__):
                frame = frame.f_back
            if Path(frame.f_code.co_filename).resolve().is_relative_to(ERASURE):
                self.count += 1
        return func(*args, **(kwargs or {}))


def transfers(run) -> int:
    with CountTransfers() as mode:
        run()
    return mode.count


@pytest.mark.parametrize("what", ["train", "evaluate", "AdvancedNegGrad", "Scrub"])
def test_transfers_and_syncs_do_not_grow_with_the_number_of_batches(what):
    """Batches are gathered from tensors already on the device: copies and host syncs happen
    once per epoch (the shuffled order, the loss check) or per partition, never per batch — so
    their number is the same with 8 times as many batches."""
    from erasure.unlearners import UnlearningContext

    plan = prepare(digits_config(epochs=2, unlearners=[
        {"class": "AdvancedNegGrad", "parameters": {"epochs": 2}},
        {"class": "Scrub", "parameters": {"epochs": 2, "msteps": 1}}]))
    data = plan.data.load(0)
    torch.manual_seed(0)
    model = plan.predictor.new_model(data)

    def run(batch_size):
        m = copy.deepcopy(model)
        if what == "train":
            plan.predictor.batch_size = batch_size
            return lambda: plan.predictor.train(m, data, "train", torch.Generator().manual_seed(0))
        if what == "evaluate":
            data.eval_batch_size = batch_size
            return lambda: OutputStore(m, data)("train")
        unlearner = plan.unlearners[0 if what == "AdvancedNegGrad" else 1]
        unlearner.batch_size = batch_size
        if what == "Scrub":
            unlearner.forget_batch_size = batch_size // 2
        ctx = UnlearningContext(data=data, predictor=plan.predictor, seed=0, gold=lambda p: None,
                                generator=torch.Generator().manual_seed(0))
        return lambda: unlearner.unlearn(m, ctx)

    few, many = transfers(run(256)), transfers(run(32))
    assert few == many, (few, many)
    # training: the shuffled order moved to the device and the loss read, once per epoch
    assert few == {"train": 4, "evaluate": 0, "AdvancedNegGrad": 6, "Scrub": 6}[what]
