"""Models: built-in networks, the shared training loop, and the predictor (the training recipe)."""
from .networks import MLP, SmallCNN
from .predictor import Predictor
from .training import (Diverged, LossFactory, NetworkFactory, OptimizerFactory, SchedulerFactory,
                       check_finite, fit)

__all__ = ["MLP", "Diverged", "LossFactory", "NetworkFactory", "OptimizerFactory", "Predictor",
           "SchedulerFactory", "SmallCNN", "check_finite", "fit"]
