"""The job protocol between the submission API and scorers: claim, heartbeat, complete, fail."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimRequest(_Strict):
    worker_id: str = Field(min_length=1, max_length=255)


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


# Where a bounded log was cut, and how much.
CUT_MARKER = "\n[platform] ... {cut} characters of log cut here ...\n"


def cut_log(text: str, head: int, tail: int, already_cut: int = 0) -> str:
    """``text`` if it fits in ``head + tail`` characters, else its head, a marker of how much was cut, and its tail.

    >>> cut_log("abcdefghij", 2, 3).split("\\n")
    ['ab', '[platform] ... 5 characters of log cut here ...', 'hij']
    """
    if len(text) <= head + tail and not already_cut:
        return text
    cut = already_cut + max(len(text) - head - tail, 0)
    return text[:head] + CUT_MARKER.format(cut=cut) + (text[len(text) - tail:] if tail else "")


class LeaseRequest(_Strict):
    lease_token: str
    # No length limit: a report never fails for its log's size. The API keeps the job log bounded (head, a cut
    # marker, tail), and the scorer caps what it forwards per job.
    log: str = Field("", description="log lines since the last report, appended to the job log")


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
