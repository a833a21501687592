"""Models: built-in networks, the shared training loop, and the predictor (the training recipe)."""
from .graph import GCN
from .networks import MLP, SmallCNN
from .predictor import Predictor
from .training import (
                       Diverged,
                       LossFactory,
                       NetworkFactory,
                       OptimizerFactory,
                       SchedulerFactory,
                       check_finite,
                       fit,
)

__all__ = ["GCN", "MLP", "Diverged", "LossFactory", "NetworkFactory", "OptimizerFactory", "Predictor",
           "SchedulerFactory", "SmallCNN", "check_finite", "fit"]
