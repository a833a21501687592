"""The exact ROC AUC (Mann–Whitney U with average ranks) that LiRA and the loss attack report."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from erasure.measures.ranking import roc_auc


@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_equals_scikit_learns(ties):
    rng = np.random.default_rng(int(ties))
    for trial in range(300):
        n = int(rng.integers(2, 400))
        labels = rng.permutation(np.r_[1, 0, rng.integers(0, 2, n - 2)])
        if ties:  # few distinct values: most scores tie with others
            scores = rng.integers(0, int(rng.integers(1, 8)), n).astype(float)
        else:
            scores = rng.normal(size=n) * rng.uniform(1e-3, 1e3)
        assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores),
                                                        abs=1e-15), trial


def test_roc_auc_is_the_share_of_pairs_a_positive_wins():
    # positives 3, 1, 0.5 against 1, 0, −1: 3 + 2.5 (a tie) + 2 of 9 pairs
    assert roc_auc([1, 1, 1, 0, 0, 0], [3.0, 1.0, 0.5, 1.0, 0.0, -1.0]) == 7.5 / 9
    assert roc_auc([0, 1, 0, 1], [-np.inf, np.inf, 0.0, np.inf]) == 1.0
    assert roc_auc([1, 0], [2.0, 2.0]) == 0.5


def test_roc_auc_needs_both_labels_and_no_nan():
    with pytest.raises(ValueError, match="positive and negative samples, got 2 and 0"):
        roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN scores"):
        roc_auc([1, 0], [np.nan, 0.2])
