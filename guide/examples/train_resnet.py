"""Your own training script (chapter 10): a ResNet-18 trained on the digits with plain PyTorch,
its weights saved as a state dict in safetensors.

It trains on the 'train' partition of the experiment's own data section (read with erasure's
Python API), so that the samples erasure will ask the model to forget are samples it learned
from, and so that the gold model, retrained by erasure on the retain set, is comparable.
"""
from pathlib import Path

import torch
from safetensors.torch import save_file

from erasure import load_config, prepare
from erasure.models.resnet import ResNet18

CONFIG = "guide/examples/checkpoint.jsonc"
WEIGHTS = Path("guide/examples/checkpoints/resnet18_digits.safetensors")

config = load_config(CONFIG)
config["predictor"]["parameters"].pop("checkpoint")  # the file this script writes
data = prepare(config).data.load(seed=config["globals"]["seed"])
x, y = data.tensors("train")

torch.set_num_threads(1)  # as the config's globals.threads: the same weights on any machine
torch.manual_seed(0)
model = ResNet18(input_shape=(1, 8, 8), num_classes=10, width=16)
optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
for epoch in range(4):
    model.train()
    for batch in torch.randperm(len(x)).split(64):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()

model.eval()
with torch.no_grad():
    accuracy = (model(x).argmax(1) == y).float().mean().item()
WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
save_file(model.state_dict(), WEIGHTS)
print(f"training accuracy {accuracy:.3f}; weights in {WEIGHTS}")
