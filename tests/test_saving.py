"""Saved models on disk (erasure.saving): safe unique file names, plain state dicts that load
into a fresh network, the hash check."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from erasure import saving


def test_file_stems_are_safe_unique_and_keep_safe_names_as_they_are():
    names = ["Finetuning", "Finetuning[epochs=5]", "Finetuning[epochs=5,lr=0.1]", "a/b", "a_b",
             "a:b", "original", "gold.retain", "Original", ".hidden", "SCRUB#2", "x" * 300]
    stems = [saving.file_stem(n) for n in names]
    assert len(set(stems)) == len(names)
    assert stems[0] == "Finetuning" and stems[4] == "a_b"
    for stem in stems:
        assert stem and not stem.startswith(".") and len(stem) <= 89
        assert all(c.isalnum() or c in "._+-" for c in stem), stem
    # a record never takes the original's or a gold model's file
    assert not {stems[6], stems[7], stems[8]} & {"original", "gold.retain", "Original"}
    assert stems[1].startswith("Finetuning_epochs_5_-")


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3)
        self.head = nn.Linear(4, 4, bias=False)
        self.tail = nn.Linear(4, 4, bias=False)
        self.tail.weight = self.head.weight  # tied: one tensor under two keys


def test_a_channels_last_compiled_tied_model_saves_as_a_plain_state_dict(tmp_path):
    torch.manual_seed(0)
    model = _Tied().to(memory_format=torch.channels_last)
    assert not model.conv.weight.is_contiguous()
    wrapped = nn.Module()
    wrapped._orig_mod = model  # what torch.compile's wrapper puts in front of every key
    state = saving.plain_state_dict(wrapped)
    assert set(state) == set(model.state_dict())
    assert all(t.is_contiguous() for t in state.values())
    path = saving._save(tmp_path, "m", wrapped, {"model": "unlearned"})
    weights, meta = saving.load(path)
    assert meta["weights"] == "m.safetensors" and meta["model"] == "unlearned"
    fresh = _Tied()
    fresh.load_state_dict(weights, strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_a_changed_file_fails_the_hash_check(tmp_path):
    path = saving._save(tmp_path, "m", nn.Linear(3, 2), {"model": "original"})
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(saving.SavedModelError, match="does not match the hash"):
        saving.load(path)
    with pytest.raises(saving.SavedModelError, match="cannot read"):
        saving.load(tmp_path / "absent.safetensors")
