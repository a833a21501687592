"""Models: built-in networks, the shared training loop, and the predictor (the training recipe)."""
from .acceleration import Acceleration, prepare_model
from .graph import GCN
from .networks import MLP, SmallCNN
from .predictor import Predictor
from .resnet import ResNet18
from .text import HuggingFaceSequenceClassifier, PretrainedTextClassifier, TextClassifier
from .training import (
                       Diverged,
                       LossFactory,
                       NetworkFactory,
                       OptimizerFactory,
                       SchedulerFactory,
                       check_finite,
                       fit,
)

__all__ = ["GCN", "MLP", "Acceleration", "Diverged", "LossFactory", "NetworkFactory", "OptimizerFactory", "Predictor",
           "HuggingFaceSequenceClassifier", "PretrainedTextClassifier", "ResNet18", "SchedulerFactory",
           "SmallCNN", "TextClassifier", "prepare_model", "check_finite", "fit"]
