"""Unlearners: the base class and one module per method."""
from .advanced_neggrad import AdvancedNegGrad
from .bad_teaching import BadTeaching
from .base import EpochUnlearner, TrainingUnlearner, Unlearner, UnlearningContext
from .cascade import Cascade
from .cfk import CFk
from .euk import EUk
from .finetuning import Finetuning
from .fisher_forgetting import FisherForgetting
from .gold_model import GoldModel
from .identity import Identity
from .neggrad import NegGrad
from .salun import SalUn
from .scrub import Scrub
from .ssd import SSD
from .successive_random_labels import SuccessiveRandomLabels
from .unsir import UNSIR

__all__ = ["SSD", "UNSIR", "AdvancedNegGrad", "BadTeaching", "CFk", "Cascade", "EUk",
           "EpochUnlearner", "Finetuning", "FisherForgetting", "GoldModel", "Identity", "NegGrad",
           "SalUn", "Scrub", "SuccessiveRandomLabels", "TrainingUnlearner", "Unlearner",
           "UnlearningContext"]
