"""GET /queue: the jobs waiting and running, each submission's place, and ETAs from recent job durations."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class QueueJob(BaseModel):
    position: int | None = Field(description="1 = the next job a scorer claims; null while running")
    status: str
    submission_id: str | None = Field(description="null for private submissions")
    model: str | None
    benchmark: str
    queued_at: datetime
    started_at: datetime | None


class QueueSubmission(BaseModel):
    submission_id: str
    position: int | None = Field(description="the queue position of its next job; null when none is waiting")
    jobs_ahead: int
    queued: int
    running: int
    eta_seconds: float = Field(description="estimated seconds until all its jobs are done")


class QueuePublic(BaseModel):
    waiting: int
    running: int
    scorers: int = Field(description="scorers holding a job now (at least 1 for the estimate)")
    mean_job_seconds: float = Field(description="mean wall time of the last 50 finished jobs")
    jobs: list[QueueJob]
    submissions: list[QueueSubmission] = Field(description="public submissions, and the one asked for")


class JobUsagePublic(BaseModel):
    id: int
    model: str
    benchmark: str
    status: str
    attempts: int
    wall_seconds: float | None
    cpu_seconds: float | None
    peak_memory_bytes: int | None
    cache_hit: bool | None


class SubmissionUsagePublic(BaseModel):
    submission_id: str
    jobs: list[JobUsagePublic]
