"""Scorer routes: claim a job with a lease, heartbeat, complete or fail it, and fetch its zip and weights."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import StreamingResponse

from cortexscore.jobs import ClaimRequest, CompleteRequest, FailRequest, JobLease, LeaseRequest

from submission_api.core.dependencies import SessionDep, SettingsDep, StoreDep
from submission_api.jobs import service as queue
from submission_api.jobs.dependencies import WorkerDep
from submission_api.submissions.dependencies import SubmissionDep

# Scorers' protocol, not the public API: kept out of /openapi.json and /docs.
router = APIRouter(prefix="/internal", tags=["scorers"], dependencies=[WorkerDep], include_in_schema=False)


@router.post("/jobs/claim", response_model=JobLease, responses={204: {"description": "no job is waiting"}})
def claim_job(body: ClaimRequest, request: Request, session: SessionDep, settings: SettingsDep):
    zip_url = str(request.url_for("download_zip", submission_id="SUBMISSION")).replace("SUBMISSION",
                                                                                       "{submission_id}")
    weights_url = str(request.url_for("download_weights", submission_id="SUBMISSION", name="NAME")).replace(
        "SUBMISSION", "{submission_id}").replace("NAME", "{name}")
    lease = queue.claim(session, worker_id=body.worker_id, lease_seconds=settings.lease_seconds,
                        max_attempts=settings.max_attempts, zip_url=zip_url, weights_url=weights_url,
                        prefer=body.prefer)
    return lease if lease is not None else Response(status_code=204)


def _lease_call(function, *args, **kwargs) -> dict:
    try:
        function(*args, **kwargs)
    except queue.LeaseLost as error:
        raise HTTPException(409, str(error)) from None
    return {"status": "ok"}


@router.post("/jobs/{job_id}/heartbeat")
def heartbeat(job_id: int, body: LeaseRequest, session: SessionDep, settings: SettingsDep) -> dict:
    return _lease_call(queue.heartbeat, session, job_id, body, lease_seconds=settings.lease_seconds)


@router.post("/jobs/{job_id}/complete")
def complete(job_id: int, body: CompleteRequest, session: SessionDep) -> dict:
    return _lease_call(queue.complete, session, job_id, body)


@router.post("/jobs/{job_id}/fail")
def fail(job_id: int, body: FailRequest, session: SessionDep, settings: SettingsDep) -> dict:
    return _lease_call(queue.fail, session, job_id, body, max_attempts=settings.max_attempts,
                       backoff_seconds=settings.retry_backoff_seconds)


@router.get("/submissions/{submission_id}/zip", name="download_zip")
def download_zip(submission: SubmissionDep, store: StoreDep) -> StreamingResponse:
    info = store.stat(submission.zip_key)
    return StreamingResponse(store.iter_chunks(submission.zip_key), media_type="application/zip",
                             headers={"Content-Length": str(info.size), "X-Sha256": submission.zip_sha256})


@router.get("/submissions/{submission_id}/weights/{name}", name="download_weights")
def download_weights(submission: SubmissionDep, name: str, store: StoreDep) -> StreamingResponse:
    """A weights file the submission's weights.toml names (issue 13), streamed from the object store."""
    entry = next((entry for entry in submission.weights or [] if entry["name"] == name), None)
    if entry is None:
        raise HTTPException(404, f"submission {submission.id!r} refers to no weights file {name!r}")
    info = store.stat(entry["key"])
    return StreamingResponse(store.iter_chunks(entry["key"]), media_type="application/octet-stream",
                             headers={"Content-Length": str(info.size), "X-Sha256": entry["sha256"]})
