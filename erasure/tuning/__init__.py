"""Tuning an unlearner's hyper-parameters toward the gold model, from the config's ``"tune"``
block: :mod:`erasure.tuning.settings` checks the block before any work,
:mod:`erasure.tuning.study` runs the trials (Optuna) in a stand-in experiment that never reads
the evaluated test data."""
from .settings import AVG_GAP, DEFAULT_TRIALS, Tuning, TuningPlan, with_values

__all__ = ["AVG_GAP", "DEFAULT_TRIALS", "Tuning", "TuningPlan", "with_values"]
