"""The result types: :class:`Score`, what every metric and ceiling returns, and :class:`BenchmarkScore`, what
scoring a model on a benchmark gives.

A :class:`BenchmarkScore` is the one shape of a score: :func:`cortexscore.benchmarks.scoring.score_activations`
returns it, a scorer sends it in :class:`cortexscore.jobs.CompleteRequest`, the submission API stores its
fields in the columns of the same names and serves them back in every score entry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


@dataclass
class Score:
    """A scalar score with its uncertainty and everything that produced it.

    Parameters
    ----------
    value : float
        The score itself; ``float(score)`` returns it.
    error : float
        The standard error of ``value`` over cross-validation splits.
    per_split : numpy.ndarray
        One value per split, before the mean.
    attrs : dict
        Everything else: per-neuroid values, the options used, seeds.

    Examples
    --------
    >>> score = Score(value=0.5, error=0.1, per_split=np.array([0.4, 0.6]))
    >>> float(score)
    0.5
    """

    value: float
    error: float = float("nan")
    per_split: np.ndarray = field(default_factory=lambda: np.empty(0))
    attrs: dict[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        return f"Score(value={self.value:.6g}, error={self.error:.3g}, splits={len(self.per_split)})"


def json_safe(value):
    """``value`` as JSON carries it: non-finite floats become None (JSON has no NaN), numpy scalars and arrays
    Python numbers and lists, tuples lists, and keys strings.

    >>> json_safe({"r": np.float32(0.5), 1: [float("nan"), np.arange(2)]})
    {'r': 0.5, '1': [None, [0, 1]]}
    """
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _finite_or_none(number: float | None) -> float | None:
    return number if number is None or math.isfinite(number) else None


# A number of a score: null where there is none, which is also what NaN and infinity (even spelt "nan") become.
Number = Annotated[float | None, BeforeValidator(json_safe), AfterValidator(_finite_or_none)]


class ScoreNumbers(BaseModel):
    """The numbers of a score, each null where there is none; what the leaderboard shows of a score."""

    model_config = ConfigDict(frozen=True)

    raw: Number = None
    error: Number = Field(None, description="the standard error of raw over splits (or subjects)")
    ceiling: Number = None
    ceiling_error: Number = None
    ceiled: Number = Field(None, description="raw normalised by ceiling with the benchmark's convention")


class BenchmarkScore(ScoreNumbers):
    """One (model, benchmark) score with everything that says how it was made.

    It holds only what JSON carries (see :func:`json_safe`), so it is the same after a trip over the wire:

    >>> score = BenchmarkScore(raw=np.float64(0.5), ceiling=0.8, ceiling_error=float("nan"), ceiled=0.390625,
    ...                        provenance={"per_split": np.array([0.4, 0.6])})
    >>> score.ceiling_error, score.provenance
    (None, {'per_split': [0.4, 0.6]})
    >>> BenchmarkScore.model_validate_json(score.model_dump_json()) == score
    True
    """

    model_config = ConfigDict(extra="forbid")  # on the wire, a field the API does not know is refused

    convention: str | None = Field(None, description="the ceiling convention that made ceiled")
    layer: str | None = Field(None, description="the committed layer; null for behaviour")
    region: str | None = None
    provenance: Annotated[dict, BeforeValidator(json_safe)] = Field(default_factory=dict)

    def with_provenance(self, **entries) -> BenchmarkScore:
        """This score with ``entries`` added to its provenance."""
        return self.model_validate({**self.model_dump(), "provenance": {**self.provenance, **entries}})
