"""Unlearners: the base class and one module per method."""
from .advanced_neggrad import AdvancedNegGrad
from .base import TrainingUnlearner, Unlearner, UnlearningContext
from .cascade import Cascade
from .finetuning import Finetuning
from .gold_model import GoldModel
from .identity import Identity
from .neggrad import NegGrad
from .successive_random_labels import SuccessiveRandomLabels

__all__ = ["AdvancedNegGrad", "Cascade", "Finetuning", "GoldModel", "Identity", "NegGrad",
           "SuccessiveRandomLabels", "TrainingUnlearner", "Unlearner", "UnlearningContext"]
