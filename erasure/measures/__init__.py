"""Measures: the base class, shared model outputs, the evaluator, one module per measure family."""
from .accuracy import Accuracy
from .base import Measure, MeasureContext, NotApplicable, Outputs, OutputStore, Targets
from .evaluator import Evaluator
from .partition_sizes import PartitionSizes
from .runtime import Runtime
from .umia import UMIA

__all__ = ["UMIA", "Accuracy", "Evaluator", "Measure", "MeasureContext", "NotApplicable", "OutputStore", "Outputs",
           "PartitionSizes", "Runtime", "Targets"]
