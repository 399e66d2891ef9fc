"""Concurrent claimers on real databases: committed transactions, one connection per claimer."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, select, text

from submission_api.core.db import Base, make_engine, make_sessionmaker
from submission_api.core.models import Job, Submission
from submission_api.jobs import service as queue
from submission_api.submissions.service import new_submission_id

CLAIMERS = 6
JOBS = 30


@pytest.fixture(params=["sqlite", "postgresql"])
def committed_engine(request, tmp_path):
    url = (request.getfixturevalue("postgres_database") if request.param == "postgresql"
           else f"sqlite:///{tmp_path / 'queue.db'}")
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


def add_jobs(factory, count: int) -> list[int]:
    with factory() as session:
        submission = Submission(id=new_submission_id(), layout="tutorial", zip_key="k", zip_sha256="0" * 64,
                                zip_size=1, models=["m"], benchmarks=[f"b{i}" for i in range(count)])
        jobs = [Job(submission=submission, model="m", benchmark=f"b{i}", benchmark_version=1) for i in range(count)]
        session.add(submission)
        session.add_all(jobs)
        session.commit()
        return [job.id for job in jobs]


def claim_all(factory, worker: str) -> list[int]:
    claimed = []
    with factory() as session:
        while (lease := queue.claim(session, worker_id=worker, lease_seconds=60, max_attempts=3,
                                    zip_url="http://x/{submission_id}")) is not None:
            claimed.append(lease.job_id)
    return claimed


def test_concurrent_claimers_take_every_job_exactly_once(committed_engine):
    factory = make_sessionmaker(committed_engine)
    job_ids = add_jobs(factory, JOBS)
    with ThreadPoolExecutor(CLAIMERS) as pool:
        per_worker = list(pool.map(lambda index: claim_all(factory, f"w{index}"), range(CLAIMERS)))
    claimed = [job_id for ids in per_worker for job_id in ids]
    assert sorted(claimed) == sorted(job_ids)
    with factory() as session:
        assert set(session.scalars(select(Job.attempts))) == {1}


def test_a_claim_skips_a_row_another_transaction_has_locked(committed_engine):
    """On PostgreSQL the claim must not wait for the lock (lock_timeout turns waiting into an error)."""
    if committed_engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers instead")
    factory = make_sessionmaker(committed_engine)
    first, second = add_jobs(factory, 2)
    statements = []
    event.listen(committed_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: statements.append(statement))
    with committed_engine.connect() as holder:
        holder.execute(text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": first})
        with factory() as session:
            session.execute(text("SET lock_timeout = '2s'"))
            lease = queue.claim(session, worker_id="w", lease_seconds=60, max_attempts=3, zip_url="x")
        holder.rollback()
    assert lease.job_id == second
    assert any("FOR UPDATE SKIP LOCKED" in statement for statement in statements)
