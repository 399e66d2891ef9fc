"""The job protocol between the submission API and scorers: claim, heartbeat, complete, fail."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cortexscore.score import BenchmarkScore


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


class WeightsFile(BaseModel):
    """An uploaded weights file the submission refers to (issue 13): fetched, checked, shown read-only to the model."""

    name: str
    sha256: str
    size: int
    url: str


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
    # The weights files its weights.toml names, each fetched like the zip (issue 13).
    weights: list[WeightsFile] = Field(default_factory=list)


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


class JobUsage(BaseModel):
    """What a job used, as the scorer measured it (issue 14); every field optional."""

    wall_seconds: float | None = Field(None, ge=0)
    cpu_seconds: float | None = Field(None, ge=0)
    peak_memory_bytes: int | None = Field(None, ge=0, description="peak memory of the model's processes")
    cache_hit: bool | None = Field(None, description="whether the activations came from the scorer's cache")
    # What the scorer measured of the model, for its model card.
    layer_count: int | None = Field(None, ge=0)
    activation_sizes: dict[str, int] | None = Field(None, max_length=1000,
                                                    description="features per stimulus, by candidate layer")
    parameter_count: int | None = Field(None, ge=0)


class CompleteRequest(LeaseRequest):
    score: BenchmarkScore
    usage: JobUsage | None = None


class FailRequest(LeaseRequest):
    # "submission": the user's code is at fault, never retried; "platform": ours, retried with backoff.
    kind: Literal["submission", "platform"]
    message: str = Field(max_length=4000)
    # "model": the model's own code failed in a way that does not depend on the benchmark (it raised on import
    # or in the preflight, or names a missing layer), so every unfinished job of this (submission, model) fails
    # with it now, whichever scorer holds them; charged once, to this job.
    scope: Literal["job", "model"] = "job"
    usage: JobUsage | None = None
