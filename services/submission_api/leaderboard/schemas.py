"""The leaderboard's JSON: GET /leaderboard, /benchmarks/{id}.json, /compare.json; fields in the order the
leaderboard's JSON has always had them, issue 14's additions last."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from cortexscore.score import ScoreNumbers


class BenchmarkColumn(BaseModel):
    identifier: str
    version: int
    region: str | None
    kind: str


class ScoreCell(ScoreNumbers):
    """One model on one benchmark: ``score`` is what the table shows, the score's unclipped numbers travel with it."""

    benchmark: str
    version: int
    region: str | None
    kind: str
    status: str
    score: float | None
    layer: str | None
    message: str | None


class LeaderboardRow(BaseModel):
    model: str
    submission_id: str
    submitted_at: datetime
    aggregate: dict[str, float]
    benchmarks: dict[str, ScoreCell]
    rank: int
    metadata: dict = Field(default_factory=dict, description="the model card: metadata.yaml and measured numbers")
    reference: bool = Field(False, description="submitted by the platform's reserved 'reference' account "
                                               "(`make seed`): a reference model")
    public: bool = Field(True, description="false only on the board of the signed-in owner of a private "
                                           "submission; nobody else sees private models")


class LeaderboardPublic(BaseModel):
    aggregate_columns: list[str]
    benchmarks: list[BenchmarkColumn]
    models: list[LeaderboardRow]
    as_of: datetime | None = Field(None, description="the date the board is shown as of; null: now")


class HistogramBin(BaseModel):
    low: float
    high: float
    count: int


class Correlation(BaseModel):
    benchmark: str
    r: float | None = Field(description="Pearson correlation of the two benchmarks' scores across models")
    models: int


class BenchmarkVersion(BaseModel):
    version: int
    models: int


class StimulusThumbnail(BaseModel):
    stimulus_id: str
    url: str


class BenchmarkDetail(BaseModel):
    identifier: str
    version: int
    region: str | None
    kind: str
    species: str | None
    metric: str
    ceiling: float | None
    ceiling_error: float | None
    citation: str
    public: bool
    stimuli_access: str
    assembly_access: str
    num_stimuli: int
    versions: list[BenchmarkVersion]
    scores: list[float]
    histogram: list[HistogramBin]
    correlations: list[Correlation]
    thumbnails: list[StimulusThumbnail]


class CompareModel(BaseModel):
    model: str
    submission_id: str
    aggregate: dict[str, float]
    benchmarks: dict[str, ScoreCell]
    layer_scores: dict[str, dict[str, float]]


class ComparePublic(BaseModel):
    benchmarks: list[BenchmarkColumn]
    models: list[CompareModel]
