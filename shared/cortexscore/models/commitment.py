"""Layer commitment: reduce candidate layers for selection and pick the best-scoring one.

Brain-Score scores every candidate layer on a region's public data and commits the best.
During selection only, each layer is reduced to at most 1000 principal components, which
keeps the regression fast on wide layers and makes layers of different widths comparable.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from cortexscore.metrics._assembly import GRAM_CHUNK_FEATURES
from cortexscore.signing import FileSigner
from cortexscore.stored import StoredMatrix, column_blocks

SELECTION_COMPONENTS = 1000


def _check_layer_scores(layer_scores):
    if not layer_scores:
        raise ValueError("layer_scores is empty; score at least one candidate layer before selecting.")
    finite = {layer: score for layer, score in layer_scores.items() if np.isfinite(score)}
    if not finite:
        raise ValueError(f"every candidate layer scored NaN or inf ({sorted(layer_scores)}); "
                         "the model's activations are probably constant or contain NaNs.")
    return finite


def select_layer(layer_scores: dict[str, float]) -> str:
    """The layer with the highest finite score; the earliest candidate wins ties.

    Examples
    --------
    >>> select_layer({"conv1": 0.2, "relu1": 0.5, "relu2": 0.5, "fc": float("nan")})
    'relu1'
    """
    finite = _check_layer_scores(layer_scores)
    return max(finite, key=finite.get)


def reduce_for_selection(features: np.ndarray | StoredMatrix, n_components: int = SELECTION_COMPONENTS,
                         random_state: int = 0) -> np.ndarray:
    """Project (n_stimuli, n_features) onto its leading principal components for layer selection.

    Layers with at most ``n_components`` features are returned unchanged, as Brain-Score's
    layer PCA does. Otherwise the number of components is capped at ``n_stimuli``. A layer kept on
    disk (:class:`~cortexscore.stored.StoredMatrix`) much wider than it has stimuli is reduced from
    its Gram matrix a block of features at a time, never read whole.

    Examples
    --------
    >>> features = np.random.default_rng(0).normal(size=(30, 2000)).astype(np.float32)
    >>> reduce_for_selection(features).shape
    (30, 30)
    >>> reduce_for_selection(features[:, :500]).shape
    (30, 500)
    """
    if not isinstance(features, StoredMatrix):
        features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features must be 2-D (n_stimuli, n_features); got shape {features.shape}.")
    if features.shape[1] <= n_components:
        return features
    components = min(n_components, features.shape[0])
    if features.shape[1] > 4 * features.shape[0]:
        return _gram_pca_scores(features, components)
    pca = PCA(n_components=components, random_state=random_state)
    return pca.fit_transform(np.asarray(features)).astype(np.float32, copy=False)


def _gram_pca_scores(features: np.ndarray | StoredMatrix, n_components: int) -> np.ndarray:
    """PCA scores from the stimuli x stimuli Gram matrix: the same projection as PCA, but costing
    n_stimuli**2 * n_features instead of an SVD over the (much wider) feature axis.

    Each feature is centred on its own, so the centred Gram matrix adds up over blocks of features:
    memory is one float64 block, not a float64 copy of the layer."""
    gram = np.zeros((features.shape[0], features.shape[0]))
    for _, block in column_blocks(features, GRAM_CHUNK_FEATURES):
        centred = block.astype(np.float64)  # one copy of the block, centred in place
        centred -= centred.mean(axis=0)
        # ``a @ a.T`` on one array is a symmetric rank-k update in BLAS: half the work of a general product.
        gram += centred @ centred.T
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    order = np.argsort(eigenvalues)[::-1][:n_components]
    eigenvalues, eigenvectors = np.clip(eigenvalues[order], 0, None), eigenvectors[:, order]
    # A fixed sign per component keeps the result deterministic; the regressions that follow are
    # invariant to it, as they are to any rotation of the feature space.
    signs = np.sign(eigenvectors[np.abs(eigenvectors).argmax(axis=0), np.arange(eigenvectors.shape[1])])
    return (eigenvectors * signs * np.sqrt(eigenvalues)).astype(np.float32)


class LayerCommitments:
    """The layers one model's activations committed to, per region and public data, shared across benchmarks.

    Brain-Score commits one layer per region and scores every benchmark of that region with it, so
    the layer search (every candidate layer, cross-validated) runs once per region rather than once
    per benchmark. An entry is keyed by what decides it: the region and the versioned, checksummed
    stimulus set and assembly whose public split scored the layers (``CommitmentData.key`` in
    :mod:`cortexscore.benchmarks.commitment`). With
    ``path`` the entries persist as JSON, so the scorer's later jobs on the same activations reuse
    them; one instance must only ever see one model's activations of one placed stimulus set.

    Examples
    --------
    >>> commitments = LayerCommitments()
    >>> commitments.put("IT|data", "relu2", {"relu1": 0.4, "relu2": 0.5})
    >>> commitments.get("IT|data")
    ('relu2', {'relu1': 0.4, 'relu2': 0.5})
    >>> commitments.get("V1|data") is None
    True
    """

    def __init__(self, path: Path | None = None, signer: FileSigner | None = None):
        self.path, self.signer = path, signer
        self._entries: dict[str, dict] = {}
        # With a signer (the scorer's), a file whose HMAC tag does not match is ignored: see cortexscore.signing.
        if path is not None and path.exists() and (signer is None or signer.verify(path, path.name)):
            try:
                self._entries = json.loads(path.read_text())
            except (OSError, ValueError):  # a torn or foreign file only costs a new layer search
                self._entries = {}

    def get(self, key: str) -> tuple[str, dict[str, float]] | None:
        entry = self._entries.get(key)
        return None if entry is None else (entry["layer"], entry["layer_scores"])

    def put(self, key: str, layer: str, layer_scores: dict[str, float]) -> None:
        self._entries[key] = {"layer": layer, "layer_scores": layer_scores}
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a concurrent reader sees the old file or the new one, never half of one.
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(handle, "w") as file:
            json.dump(self._entries, file)
        if self.signer is not None:
            self.signer.sign(temporary, self.path.name)
            os.replace(FileSigner.mac_path(temporary), FileSigner.mac_path(self.path))
        os.replace(temporary, self.path)
