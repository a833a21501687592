"""Config: load JSONC (with includes), resolve class names, validate and build components."""
from .build import INVALID, Builder
from .checks import (BatchSize, Constraint, Count, Epochs, Fraction, LayerWidths,
                     NonNegative, Positive, Probability, Range, Steps, Widths)
from .component import (PARTITION, Component, Factory, PartitionName, PartitionNames, Slot, Spec,
                        spec)
from .errors import ConfigError, Problem, suggest
from .load import copy_config, load_config, parse_text
from .registry import full_name, register, resolve
from .space import Choice, Distribution, FloatRange, IntRange, LogUniform, Uniform

__all__ = ["INVALID", "PARTITION", "BatchSize", "Builder", "Choice", "Distribution", "FloatRange", "IntRange", "LogUniform",
           "Uniform", "Component", "ConfigError",
           "Constraint", "Count", "Epochs", "Factory", "Fraction", "LayerWidths",
           "NonNegative", "PartitionName", "PartitionNames", "Positive", "Probability", "Problem",
           "Range", "Slot", "Spec", "Steps", "Widths", "copy_config", "full_name", "load_config",
           "parse_text", "register", "resolve", "spec", "suggest"]
