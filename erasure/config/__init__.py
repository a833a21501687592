"""Config: load JSONC (with includes), resolve class names, validate and build components."""
from .build import INVALID, Builder
from .component import (PARTITION, Component, Factory, PartitionName, PartitionNames, Slot, Spec,
                        spec)
from .errors import ConfigError, Problem, suggest
from .load import copy_config, load_config, parse_text
from .registry import full_name, register, resolve

__all__ = ["INVALID", "PARTITION", "Builder", "Component", "ConfigError", "Factory",
           "PartitionName", "PartitionNames", "Problem", "Slot", "Spec", "copy_config", "full_name",
           "load_config", "parse_text", "register", "resolve", "spec", "suggest"]
