"""The job protocol between the submission API and scorers: claim, heartbeat, complete, fail."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HeldModel(_Strict):
    """A (submission, model) whose session a scorer holds: its jobs are claimed before any other."""

    submission_id: str = Field(max_length=255)
    model: str = Field(max_length=1000)


class ClaimRequest(_Strict):
    worker_id: str = Field(min_length=1, max_length=255)
    prefer: HeldModel | None = None


class SiblingJob(BaseModel):
    """Another job of the same (submission, model): the scorer computes its stimulus set in the same session."""

    benchmark: str
    benchmark_version: int


class JobLease(BaseModel):
    """What a scorer needs to run one job, and the lease that lets it report back."""

    job_id: int
    lease_token: str
    lease_seconds: float
    attempt: int
    submission_id: str
    model: str
    benchmark: str
    benchmark_version: int
    layout: str
    zip_sha256: str
    zip_url: str
    # The other unfinished jobs of this (submission, model), so one import serves them all.
    siblings: list[SiblingJob] = Field(default_factory=list)


class LeaseRequest(_Strict):
    lease_token: str
    log: str = Field("", max_length=1 << 20, description="log lines since the last report, appended to the job log")


class ScoreResult(_Strict):
    raw: float | None
    error: float | None
    ceiling: float | None
    ceiling_error: float | None
    ceiled: float | None
    convention: str | None
    layer: str | None
    region: str | None
    provenance: dict = Field(default_factory=dict)


class CompleteRequest(LeaseRequest):
    score: ScoreResult


class FailRequest(LeaseRequest):
    # "submission": the user's code is at fault, never retried; "platform": ours, retried with backoff.
    kind: Literal["submission", "platform"]
    message: str = Field(max_length=4000)
