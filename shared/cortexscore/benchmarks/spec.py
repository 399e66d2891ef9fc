"""The catalogue entry of one benchmark version, shared by the store, the API and the scorer."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FileRef(BaseModel):
    """One stored file: where it is and the sha256 its bytes must hash to."""

    key: str
    sha256: str
    size: int


class DataRef(BaseModel):
    """A versioned stimulus set or assembly, made of one or more files."""

    identifier: str
    version: int
    files: dict[str, FileRef]
    access: Literal["public", "private"] = "public"


class Ceiling(BaseModel):
    value: float
    error: float
    method: str
    attrs: dict = Field(default_factory=dict)


class BenchmarkSpec(BaseModel):
    """Everything needed to score a model on one benchmark version, and to say how it was made."""

    identifier: str
    version: int = 1
    region: str | None = None
    kind: Literal["neural", "behavior", "engineering"] = "neural"
    # The scoring procedure (see cortexscore.benchmarks.scoring), and the metric it applies.
    scoring: str = "neural_predictivity"
    metric: str
    metric_options: dict = Field(default_factory=dict)
    ceiling_method: str | None = None
    convention: str = "r2_over_ceiling"
    visual_degrees: float = 8.0
    number_of_trials: int = 1
    time_bins: list[tuple[int, int]] = Field(default_factory=lambda: [(70, 170)])
    leaderboard: bool = True
    synthetic: bool = False
    public: bool = True
    citation: str = ""
    stimulus_set: DataRef
    assembly: DataRef
    num_stimuli: int
    ceiling: Ceiling | None = None
    source: dict = Field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.identifier}@v{self.version}"
