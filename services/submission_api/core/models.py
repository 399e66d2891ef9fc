"""Tables. A submission owns its jobs; a job yields at most one score per benchmark version.

Users hold API tokens (only their SHA-256 is stored); a submission may carry a
callback URL whose webhook deliveries are each recorded.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cortexscore.score import BenchmarkScore

from submission_api.core.db import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Submission(Base):
    __tablename__ = "submissions"
    # The leaderboard reads public, unhidden submissions in creation order; quotas count a user's recent ones.
    __table_args__ = (Index("ix_submissions_leaderboard", "public", "hidden", "created_at"),
                      Index("ix_submissions_owner_recent", "owner_id", "created_at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # An anonymous upload's owner secret, SHA-256: whoever holds the secret (not the id) manages the submission.
    owner_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    layout: Mapped[str] = mapped_column(String(16))
    zip_key: Mapped[str] = mapped_column(String(255))
    zip_sha256: Mapped[str] = mapped_column(String(64))
    zip_size: Mapped[int] = mapped_column(Integer)
    models: Mapped[list] = mapped_column(JSON)
    benchmarks: Mapped[list] = mapped_column(JSON)
    # Hidden by an admin: off the leaderboard and invisible to everyone but the owner and admins.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The outbox of the completion webhook: "pending" until delivered or out of attempts.
    webhook_state: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    webhook_next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Issue 14: each model's card from the upload's metadata.yaml, keyed by model name.
    model_cards: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # Issue 13: the weights files its weights.toml names, as checked at submit time: [{name, sha256, size, key}].
    weights: Mapped[list | None] = mapped_column(JSON, nullable=True)

    jobs: Mapped[list[Job]] = relationship(back_populates="submission", order_by="Job.id")
    webhook_deliveries: Mapped[list[WebhookDelivery]] = relationship(order_by="WebhookDelivery.id")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("submission_id", "model", "benchmark", "benchmark_version", name="uq_job"),
        Index("ix_jobs_claim", "status", "not_before", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(255))
    benchmark: Mapped[str] = mapped_column(String(255))
    benchmark_version: Mapped[int] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="neural")
    leaderboard: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Issue 14: what the job used, as the scorer reported it with its outcome (the last attempt's numbers).
    wall_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    cpu_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cache_hit: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Up to 200 kB per job: loaded only when the logs are read or appended to, never on a status poll.
    log: Mapped[str] = mapped_column(Text, default="", deferred=True)

    submission: Mapped[Submission] = relationship(back_populates="jobs")


class ScoreRow(Base):
    """A job's score: after the job's keys, the columns of a :class:`~cortexscore.score.BenchmarkScore`'s fields,
    under their names; written by :meth:`recording` and read back by :meth:`score`, nowhere field by field."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("submission_id", "model", "benchmark", "benchmark_version", name="uq_score"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(255))
    benchmark: Mapped[str] = mapped_column(String(255))
    benchmark_version: Mapped[int] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(32), nullable=True)
    raw: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[float | None] = mapped_column(Float, nullable=True)
    ceiling: Mapped[float | None] = mapped_column(Float, nullable=True)
    ceiling_error: Mapped[float | None] = mapped_column(Float, nullable=True)
    ceiled: Mapped[float | None] = mapped_column(Float, nullable=True)
    convention: Mapped[str | None] = mapped_column(String(64), nullable=True)
    layer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    provenance: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @classmethod
    def recording(cls, job: Job, score: BenchmarkScore) -> ScoreRow:
        """The row that records ``score`` as ``job``'s."""
        return cls(submission_id=job.submission_id, job_id=job.id, model=job.model, benchmark=job.benchmark,
                   benchmark_version=job.benchmark_version, **score.model_dump())

    def score(self) -> BenchmarkScore:
        """The score this row records; validated when it was written, so not again (a poll reads many)."""
        return BenchmarkScore.model_construct(**{name: getattr(self, name) for name in BenchmarkScore.model_fields})


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Signs the webhooks of this user's submissions (Standard Webhooks "whsec_" form).
    webhook_secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", order_by="ApiToken.id")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    # SHA-256 of the token: tokens are 256-bit random, so a plain hash cannot be brute-forced.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2048))
    event: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScoreHistory(Base):
    """Every score ever recorded, kept through rescores: the leaderboard ``as_of`` a date reads these.

    Written beside each new ``scores`` row (submission_api.leaderboard.history), never updated or deleted
    but with its submission.
    """

    __tablename__ = "score_history"
    __table_args__ = (Index("ix_score_history_recorded", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(255))
    benchmark: Mapped[str] = mapped_column(String(255))
    benchmark_version: Mapped[int] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(32), nullable=True)
    raw: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[float | None] = mapped_column(Float, nullable=True)
    ceiling: Mapped[float | None] = mapped_column(Float, nullable=True)
    ceiled: Mapped[float | None] = mapped_column(Float, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WeightUpload(Base):
    """Issue 13: a weights file uploaded on its own, straight to the object store, and named by its sha256.

    ``pending`` until its bytes are all there and hash to the declared sha256; only then ``ready`` and usable by a
    submission. One row per (owner, sha256): declaring the same file again resumes or reuses it.
    """

    __tablename__ = "weight_uploads"
    __table_args__ = (UniqueConstraint("owner_id", "sha256", name="uq_weight_upload_owner_sha256"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # "presigned" (the client PUTs to S3 itself) or "streamed" (through the API, in resumable chunks).
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Bytes of a streamed upload received so far; where a client resumes.
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    object_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
