"""The behavioural readout: a standard scaler, then multinomial logistic regression.

Brain-Score fits it on the fitting stimuli's features from the readout layer and reads out
class probabilities (``probabilities`` task) or the most probable label (``label`` task).
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

READOUT_C = 1e-3


def _check_readout_inputs(features, labels):
    features = np.asarray(features)
    labels = np.asarray(labels)
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        raise ValueError(f"features must be (n_stimuli, n_features) with one label per stimulus; got features "
                         f"{features.shape} and labels {labels.shape}.")
    if len(np.unique(labels)) < 2:
        raise ValueError("the fitting stimuli need at least two distinct labels to fit a readout.")
    if not np.isfinite(features).all():
        raise ValueError("the readout layer's features contain NaN or inf; the model must give finite outputs.")
    return features, labels


class ProbabilitiesReadout:
    """Scaler + logistic regression mapping features to class probabilities.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> features = np.vstack([rng.normal(-1, 1, (20, 30)), rng.normal(1, 1, (20, 30))])
    >>> labels = np.array(["dog"] * 20 + ["cat"] * 20)
    >>> readout = ProbabilitiesReadout().fit(features, labels)
    >>> readout.classes
    ['cat', 'dog']
    >>> probabilities = readout.predict_proba(features)
    >>> probabilities.shape, bool(np.allclose(probabilities.sum(axis=1), 1))
    ((40, 2), True)
    >>> readout.predict(features[:2]).tolist()
    ['dog', 'dog']
    """

    def __init__(self, C: float = READOUT_C):
        self.C = C
        self._pipeline = None

    def fit(self, features, labels) -> "ProbabilitiesReadout":
        features, labels = _check_readout_inputs(features, labels)
        self._pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=1000))
        self._pipeline.fit(features, labels)
        return self

    @property
    def classes(self) -> list:
        return self._pipeline.classes_.tolist()

    def predict_proba(self, features) -> np.ndarray:
        """(n_stimuli, n_classes) probabilities, columns in the order of ``classes``."""
        return self._pipeline.predict_proba(np.asarray(features))

    def predict(self, features) -> np.ndarray:
        """The most probable class per stimulus."""
        return self._pipeline.predict(np.asarray(features))
