"""Measures: the base class, shared model outputs, the evaluator, one module per measure family."""
from .accuracy import Accuracy
from .aus import AUS, NoMUS
from .avg_gap import AvgGap
from .base import Measure, MeasureContext, Memos, NotApplicable, Outputs, OutputStore, Targets
from .evaluator import Evaluator
from .gold_distance import OutputDivergence, WeightDistance
from .lira import LiRA
from .loss_attack import LossAttack
from .membership import MembershipMeasure
from .memory import Memory
from .mia_efficacy import MIAEfficacy
from .partition_sizes import PartitionSizes
from .per_class import PerClassAccuracy
from .relearn import AIN, RelearnTime
from .rte import RTE
from .runtime import Runtime
from .sklearn_metric import SklearnMetric
from .tow import ToW
from .umia import UMIA
from .zrf import ZRF

__all__ = ["AIN", "AUS", "RTE", "UMIA", "ZRF", "Accuracy", "AvgGap", "Evaluator", "LiRA",
           "LossAttack", "MIAEfficacy", "Measure", "MeasureContext", "MembershipMeasure", "Memory",
           "Memos", "NoMUS", "NotApplicable", "OutputDivergence", "OutputStore", "Outputs",
           "PartitionSizes", "PerClassAccuracy", "RelearnTime", "Runtime", "SklearnMetric",
           "Targets", "ToW", "WeightDistance"]
