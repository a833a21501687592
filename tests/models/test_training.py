"""fit's step hook: called after every optimizer step with the step's number and loss."""
import pytest
import torch
from torch import nn

from erasure.models import Diverged, check_finite, fit


def test_the_step_hook_sees_every_step_and_its_loss():
    torch.manual_seed(0)
    x, y = torch.randn(40, 2), torch.randint(0, 2, (40,))
    model = nn.Linear(2, 2)
    steps = []
    means = fit(model, lambda: [(x[:16], y[:16]), (x[16:32], y[16:32]), (x[32:], y[32:])],
                torch.optim.SGD(model.parameters(), lr=0.5), nn.CrossEntropyLoss(), epochs=2,
                on_step=lambda step, loss: steps.append((step, loss)))
    # numbered from 1 across the epochs of the call
    assert [step for step, _ in steps] == [1, 2, 3, 4, 5, 6]
    assert not any(loss.requires_grad for _, loss in steps)
    # the losses the hook saw are the ones each epoch's mean is taken over
    for epoch, mean in enumerate(means):
        losses = [float(loss) for _, loss in steps[3 * epoch:3 * epoch + 3]]
        assert sum(losses) / 3 == pytest.approx(mean, rel=1e-6)


def test_a_step_hook_that_raises_stops_training_at_that_step():
    model = nn.Linear(2, 1)
    taken = []

    def batches():
        return [(torch.ones(4, 2), torch.ones(4)) for _ in range(5)]

    def step(model, batch):
        x, y = batch
        loss = (model(x).squeeze(1) - y).pow(2).mean()
        return loss * float("nan") if len(taken) == 2 else loss

    def check(number, loss):
        taken.append(number)
        check_finite(loss, f"at step {number}")

    with pytest.raises(Diverged) as raised:
        fit(model, batches, torch.optim.SGD(model.parameters(), lr=0.01), step=step,
            on_step=check)
    assert str(raised.value) == "loss became nan at step 3"
    assert taken == [1, 2, 3]
