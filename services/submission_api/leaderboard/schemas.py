"""The leaderboard as GET /leaderboard returns it; fields in the order the JSON has always had them."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class BenchmarkColumn(BaseModel):
    identifier: str
    version: int
    region: str | None
    kind: str


class ScoreCell(BaseModel):
    """One model on one benchmark: ``score`` is what the table shows, the unclipped numbers travel with it."""

    benchmark: str
    version: int
    region: str | None
    kind: str
    status: str
    score: float | None
    raw: float | None
    ceiling: float | None
    ceiled: float | None
    error: float | None
    ceiling_error: float | None
    layer: str | None
    message: str | None


class LeaderboardRow(BaseModel):
    model: str
    submission_id: str
    submitted_at: datetime
    aggregate: dict[str, float]
    benchmarks: dict[str, ScoreCell]
    rank: int


class LeaderboardPublic(BaseModel):
    aggregate_columns: list[str]
    benchmarks: list[BenchmarkColumn]
    models: list[LeaderboardRow]
