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
    # The public split's responses alone, served to anyone (local scoring, layer commitment) when ``assembly``
    # is private. None when ``assembly`` is public or there is no split.
    public_assembly: DataRef | None = None
    # How the model's layer for ``region`` is chosen (docs/benchmarks.md, "Layer commitment"): "region", the
    # layer committed once per region on the region's commitment data; "nested_cv", chosen inside the
    # cross-validation, on each split's training stimuli, where the region has no data disjoint from this one's.
    layer_selection: Literal["region", "nested_cv"] = "region"
    # This benchmark's public split is its region's commitment data (at most one real benchmark per region).
    commits_region: bool = False

    @property
    def ref(self) -> str:
        return f"{self.identifier}@v{self.version}"
