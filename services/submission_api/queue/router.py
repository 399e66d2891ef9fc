"""The queue (GET /queue: JSON, or the page for browsers), the owner's live submission page, and its log stream.

The stream is server-sent events: ``log`` events carry new job-log text as it
arrives from the scorers' heartbeats, ``status`` events the submission's status,
queue position and ETA, and ``end`` closes it once the submission is finished.
A browser's EventSource cannot send headers, so the page and the stream also
take the token as ``?token=``.
"""
from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from submission_api.accounts.service import authenticate
from submission_api.core.dependencies import SessionDep
from submission_api.core.models import Submission
from submission_api.leaderboard.pages import TEMPLATES
from submission_api.queue.schemas import QueuePublic, SubmissionUsagePublic
from submission_api.queue.service import queue_snapshot, submission_logs
from submission_api.submissions.dependencies import is_owner

router = APIRouter(tags=["queue"])
TERMINAL = ("completed", "failed", "cancelled")
POLL_SECONDS = 0.5


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get("/queue", response_model=QueuePublic, summary="The job queue",
            responses={200: {"content": {"text/html": {}}, "description": "JSON, or the queue page for a browser "
                                                                         "(`Accept: text/html`)"}})
def read_queue(request: Request, session: SessionDep,
               submission: Annotated[str | None, Query(max_length=64, description="also place this submission")]
               = None):
    """Jobs waiting and running in claim order, each public submission's position and ETA (and that of
    ``?submission=``, whose id the caller holds); private submissions' jobs appear without names."""
    snapshot = queue_snapshot(session, submission if submission and session.get(Submission, submission) else None)
    if _wants_html(request):
        return TEMPLATES.TemplateResponse(request, "queue.html", {"queue": snapshot})
    return JSONResponse(QueuePublic.model_validate(snapshot).model_dump(mode="json"))


def owned_for_browser(submission_id: str, session: SessionDep,
                      authorization: Annotated[str | None, Header()] = None,
                      token: Annotated[str | None, Query(max_length=200)] = None,
                      x_owner_secret: Annotated[str | None, Header()] = None,
                      owner_secret: Annotated[str | None, Query(max_length=200)] = None) -> Submission:
    """The submission, if the caller owns it; else 404. A browser's EventSource sends no headers, so the token
    (or an anonymous upload's owner secret) may also come as ``?token=`` (``?owner_secret=``)."""
    user = None
    if authorization or token:
        raw = token or authorization.partition(" ")[2]
        user = authenticate(session, raw.strip())
        if user is None:
            raise HTTPException(401, "this token is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
    submission = session.get(Submission, submission_id)
    if submission is None or not is_owner(submission, user, x_owner_secret or owner_secret):
        raise HTTPException(404, f"no submission {submission_id!r}")
    return submission


BrowserOwned = Annotated[Submission, Depends(owned_for_browser)]


@router.get("/submissions/{submission_id}/page", response_class=HTMLResponse, include_in_schema=False)
def submission_page(request: Request, submission: BrowserOwned, session: SessionDep) -> HTMLResponse:
    from submission_api.queue.usage import job_usage
    place = next(entry for entry in queue_snapshot(session, submission.id)["submissions"]
                 if entry["submission_id"] == submission.id)
    return TEMPLATES.TemplateResponse(request, "submission.html", {
        "submission": submission, "place": place, "jobs": job_usage(session, submission.id),
        "token": request.query_params.get("token", ""), "owner_secret": request.query_params.get("owner_secret", "")})


@router.get("/submissions/{submission_id}/usage", response_model=SubmissionUsagePublic,
            summary="What a submission's jobs used",
            responses={401: {"description": "an unknown or revoked token"},
                       404: {"description": "no such submission, or not yours"}})
def submission_usage(submission: BrowserOwned, session: SessionDep) -> dict:
    """The owner's view of what each job used: attempts, wall and CPU seconds, peak memory of the model's
    processes, and whether the activations came from the scorer's cache."""
    from submission_api.queue.usage import job_usage
    return {"submission_id": submission.id, "jobs": job_usage(session, submission.id)}


def _poll(factory, submission_id: str) -> tuple[str, list, dict]:
    with factory() as session:
        submission = session.get(Submission, submission_id)
        place = next(entry for entry in queue_snapshot(session, submission_id)["submissions"]
                     if entry["submission_id"] == submission_id)
        return submission.status, submission_logs(session, submission_id), place


def _event(name: str, data) -> str:
    text = data if isinstance(data, str) else json.dumps(data, default=str)
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in text.split("\n")) + "\n"


@router.get("/submissions/{submission_id}/events", include_in_schema=True, summary="A submission's live log",
            responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
                       401: {"description": "an unknown or revoked token"},
                       404: {"description": "no such submission, or not yours"}})
async def submission_events(request: Request, submission: BrowserOwned) -> StreamingResponse:
    """The owner's live view: ``log`` events with new job-log lines, ``status`` events with the status, queue
    position and ETA, and ``end`` when the submission is finished."""
    factory, submission_id = request.app.state.sessionmaker, submission.id

    async def stream():
        sent: dict[int, int] = {}
        last_status = None
        while True:
            status, jobs, place = await run_in_threadpool(_poll, factory, submission_id)
            for job_id, model, benchmark, job_status, log in jobs:
                log = log or ""
                offset = sent.get(job_id, 0)
                if len(log) < offset:  # the log was cut to its last 200 kB, or the job was rescored
                    offset = 0
                if len(log) > offset:
                    lines = log[offset:]
                    sent[job_id] = len(log)
                    yield _event("log", json.dumps({"job_id": job_id, "model": model, "benchmark": benchmark,
                                                    "text": lines}))
            current = {"status": status, **place}
            if current != last_status:
                last_status = current
                yield _event("status", current)
            if status in TERMINAL:
                yield _event("end", {"status": status})
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
