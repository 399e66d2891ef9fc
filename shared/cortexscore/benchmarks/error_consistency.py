"""Error consistency (Geirhos et al. 2021) of a model's 16-way choices, read from its 1000-way ImageNet logits.

The model's choice on an image: softmax over the 1000 ImageNet logits, the
mean probability over the ImageNet classes of each of the 16 categories (the
model-vs-human mapping below), then the argmax. A 1001-way output whose first
class is "background" (TensorFlow-slim models) is reduced to the 1000
ImageNet classes first. The metric and the human-pair ceiling are the
library's ``error_consistency``; ceiled = clip(raw / ceiling, 0, 1).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from cortexscore.benchmarks.scoring import ceiled_result, register
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.ceilings import load_ceiling
from cortexscore.metrics import load_metric
from cortexscore.score import BenchmarkScore, Score

# ImageNet class indices (0-999) of each of the 16 categories, as model-vs-human's
# helper/human_categories.py lists them (derived there from WordNet IDs).
IMAGENET_INDICES: dict[str, tuple[int, ...]] = {
    "airplane": (404,),
    "bear": (294, 295, 296, 297),
    "bicycle": (444, 671),
    "bird": (8, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22, 23, 24, 80, 81, 82, 83, 87, 88, 89, 90, 91, 92, 93, 94,
             95, 96, 98, 99, 100, 127, 128, 129, 130, 131, 132, 133, 135, 136, 137, 138, 139, 140, 141, 142, 143,
             144, 145),
    "boat": (472, 554, 625, 814, 914),
    "bottle": (440, 720, 737, 898, 899, 901, 907),
    "car": (436, 511, 817),
    "cat": (281, 282, 283, 284, 285, 286),
    "chair": (423, 559, 765, 857),
    "clock": (409, 530, 892),
    "dog": tuple(sorted(set(range(152, 269)) - {192, 204, 227, 242, 251, 258, 260, 264})),
    "elephant": (385, 386),
    "keyboard": (508, 878),
    "knife": (499,),
    "oven": (766,),
    "truck": (555, 569, 656, 675, 717, 734, 864, 867),
}
CATEGORIES = tuple(sorted(IMAGENET_INDICES))


def _check_logits(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] not in (1000, 1001):
        raise ValueError(f"error consistency needs the model's 1000-way ImageNet logits as its last layer; got "
                         f"shape {logits.shape}. Make the model's last module output ImageNet logits.")
    if not np.isfinite(logits).all():
        raise ValueError("the model's logits contain NaN or infinite values")
    # A 1001-way output's class 0 is TensorFlow-slim's "background"; class k is ImageNet class k - 1.
    return logits[:, 1:] if logits.shape[1] == 1001 else logits


def sixteen_class_choices(logits: np.ndarray) -> np.ndarray:
    """The 16-category choice per image from 1000- (or 1001-) way ImageNet logits.

    Examples
    --------
    >>> logits = np.zeros((2, 1000))
    >>> logits[0, 281], logits[1, 499] = 10, 10
    >>> sixteen_class_choices(logits).tolist()
    ['cat', 'knife']
    """
    logits = _check_logits(logits)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    category_probabilities = np.stack([probabilities[:, list(IMAGENET_INDICES[category])].mean(axis=1)
                                       for category in CATEGORIES], axis=1)
    return np.asarray(CATEGORIES)[category_probabilities.argmax(axis=1)]


@register("error_consistency", layers="logits")
def score_error_consistency(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame,
                            layer_features: dict[str, np.ndarray], ceiling: Score | None = None,
                            log: Callable[[str], None] = print) -> BenchmarkScore:
    """Error consistency between the model's 16-way choices and each human subject's trials."""
    if "logits" not in layer_features:
        raise ValueError(f"error consistency needs the model's 'logits'; got layers {sorted(layer_features)}")
    choices = sixteen_class_choices(layer_features["logits"])
    source = xr.DataArray(choices, dims="presentation",
                          coords={"stimulus_id": ("presentation", stimuli["stimulus_id"].astype(str).to_numpy())})
    truth = stimuli.set_index(stimuli["stimulus_id"].astype(str))["category"] if "category" in stimuli else None
    if truth is not None:
        log(f"model accuracy {np.mean(choices == truth.to_numpy()):.3f} on {len(choices)} images (16-way)")
    raw = load_metric("error_consistency", **spec.metric_options)(source, assembly)
    if ceiling is None:
        ceiling = load_ceiling(spec.ceiling_method)(assembly)
    return ceiled_result(
        spec, raw, ceiling, "logits", subjects=[str(subject) for subject in raw.attrs.get("rows", [])],
        undefined_kappas=raw.attrs.get("undefined_kappas"), scoring_stimuli=int(len(stimuli)),
        choice_counts={str(label): int(count) for label, count in pd.Series(choices).value_counts().items()},
    )
