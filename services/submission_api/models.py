"""Tables. A submission owns its jobs; a job yields at most one score per benchmark version."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from submission_api.db import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Submission(Base):
    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    layout: Mapped[str] = mapped_column(String(16))
    zip_key: Mapped[str] = mapped_column(String(255))
    zip_sha256: Mapped[str] = mapped_column(String(64))
    zip_size: Mapped[int] = mapped_column(Integer)
    models: Mapped[list] = mapped_column(JSON)
    benchmarks: Mapped[list] = mapped_column(JSON)

    jobs: Mapped[list[Job]] = relationship(back_populates="submission", order_by="Job.id")


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
    log: Mapped[str] = mapped_column(Text, default="")

    submission: Mapped[Submission] = relationship(back_populates="jobs")


class ScoreRow(Base):
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
