"""Public response schemas, split Base/Public as the contract names their fields."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model: str
    benchmark: str
    status: str
    attempts: int


class SubmissionBase(BaseModel):
    id: str
    status: str


class SubmissionCreated(SubmissionBase):
    models: list[str]
    benchmarks: list[str]


class SubmissionPublic(SubmissionBase):
    created_at: datetime
    layout: str
    models: list[str]
    benchmarks: list[str]
    jobs: list[JobPublic]


class ScoreEntry(BaseModel):
    model: str
    benchmark: str
    benchmark_version: int
    region: str | None
    status: str
    raw: float | None = None
    ceiling: float | None = None
    ceiled: float | None = None
    error: float | None = None
    ceiling_error: float | None = None
    convention: str | None = None
    layer: str | None = None
    message: str | None = None
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    provenance: dict | None = None


class ScoresPublic(BaseModel):
    submission_id: str
    status: str
    scores: list[ScoreEntry]
    aggregate: dict[str, dict[str, float]]


class LogsPublic(BaseModel):
    submission_id: str
    log: str
