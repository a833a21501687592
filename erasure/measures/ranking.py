"""Rank statistics of attack scores, computed exactly without scikit-learn."""
from __future__ import annotations

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the binary ``labels`` (1: positive, 0:
    negative), exactly: the Mann–Whitney U statistic over positives × negatives, with average
    ranks for ties,

        AUC = P(score(positive) > score(negative)) + ½ P(tie)

    — the value of scikit-learn's ``roc_auc_score`` (to the last bits of rounding). Infinite
    scores rank like any other.

    Raises:
        ValueError: no positive or no negative label, or a NaN score.
    """
    positive = np.asarray(labels) == 1
    scores = np.asarray(scores, dtype=np.float64)
    positives = int(positive.sum())
    negatives = len(positive) - positives
    if positives == 0 or negatives == 0:
        raise ValueError(f"ROC AUC needs positive and negative samples, got {positives} "
                         f"and {negatives}")
    if np.isnan(scores).any():
        raise ValueError(f"ROC AUC of NaN scores ({int(np.isnan(scores).sum())} of {len(scores)})")
    order = np.argsort(scores, kind="stable")
    ranked = scores[order]
    # runs of equal scores share the average of their ranks (1-based): start + (count + 1) / 2
    new_run = np.r_[True, ranked[1:] != ranked[:-1]]
    starts = np.flatnonzero(new_run)
    counts = np.diff(np.r_[starts, len(ranked)])
    ranks = np.empty(len(ranked))
    ranks[order] = (starts + (counts + 1) / 2)[np.cumsum(new_run) - 1]
    u = ranks[positive].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))
