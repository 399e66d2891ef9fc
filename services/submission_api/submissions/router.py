"""Public submission routes: upload, status, scores, logs, cancel, and their admin actions.

Who may read or manage a submission is decided by the dependencies (submissions/dependencies.py).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from cortexscore.webhooks import new_webhook_secret

from submission_api.accounts.dependencies import AdminUser, OptionalUser, optional_user
from submission_api.core.dependencies import SessionDep, StoreDep
from submission_api.submissions import service
from submission_api.submissions.upload import DISK_FULL, disk_full
from submission_api.submissions.dependencies import (OwnedSubmission, ReadableSubmission, ValidUpload,
                                                     readable_submission, submission_or_404)
from submission_api.submissions.schemas import (LogsPublic, ScoresPublic, SubmissionCreatedPublic, SubmissionPublic,
                                                SubmissionUpdate)

router = APIRouter(prefix="/submissions", tags=["submissions"])


@router.post("", status_code=202, response_model=SubmissionCreatedPublic)
def submit(validated: ValidUpload, session: SessionDep, store: StoreDep) -> SubmissionCreatedPublic:
    owner = validated.owner
    # An anonymous upload is managed with this secret, shown only in this answer; only its SHA-256 is stored.
    secret = None if owner else service.new_owner_secret()
    try:
        submission = service.create_submission(
            session, store=store, upload=validated.upload, report=validated.report, benchmarks=validated.benchmarks,
            public=validated.public, owner_id=owner.id if owner else None, callback_url=validated.callback_url,
            webhook_secret=owner.webhook_secret if owner else new_webhook_secret(), owner_secret=secret,
            weights=validated.weights)
    except OSError as error:
        if error.errno in DISK_FULL:
            raise disk_full(error) from None
        raise
    if validated.model_cards:
        submission.model_cards = validated.model_cards
        session.commit()
    return SubmissionCreatedPublic(id=submission.id, status=submission.status, models=submission.models,
                                   benchmarks=submission.benchmarks, webhook_secret=submission.webhook_secret,
                                   owner_secret=secret)


@router.get("/{submission_id}", response_model=SubmissionPublic)
def read_submission(submission: ReadableSubmission) -> SubmissionPublic:
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.get("/{submission_id}/scores", response_model=ScoresPublic)
async def read_scores(submission_id: str, request: Request,
                      authorization: Annotated[str | None, Header()] = None,
                      x_owner_secret: Annotated[str | None, Header()] = None,
                      offset: Annotated[int, Query(ge=0, le=1 << 31, description="the first score entry of this page")] = 0,
                      limit: Annotated[int | None, Query(ge=1, le=1 << 31, description="score entries per page; at most "
                                                                           "the platform's page size")] = None,
                      ) -> ScoresPublic:
    # Every `cortexscore submit --wait` polls here. Through the sync dependencies (session in and out, submission,
    # user, readability), the sync route and its response validation, a poll took seven trips between the event
    # loop and the threadpool, each a GIL hand-off: under a burst of polls those hand-offs, more than the queries,
    # made the tail. One trip runs the same checks in the same order.
    page_max = request.app.state.settings.scores_page_max
    if limit is not None and limit > page_max:
        raise HTTPException(422, f"'limit' is at most {page_max}; page with 'offset'")
    return await run_in_threadpool(_readable_scores, request.app.state.sessionmaker, submission_id, authorization,
                                   x_owner_secret, offset, limit or page_max)


def _readable_scores(factory: sessionmaker[Session], submission_id: str, authorization: str | None,
                     secret: str | None, offset: int, limit: int) -> ScoresPublic:
    with factory() as session:
        submission = submission_or_404(submission_id, session)
        readable = readable_submission(submission, optional_user(session, authorization), secret)
        return service.scores_of(session, readable, offset=offset, limit=limit)


@router.get("/{submission_id}/logs", response_model=LogsPublic)
def read_logs(submission: OwnedSubmission) -> LogsPublic:
    return service.logs_of(submission)


@router.delete("/{submission_id}", response_model=SubmissionPublic)
def cancel_submission(submission: OwnedSubmission, session: SessionDep) -> SubmissionPublic:
    service.cancel(session, submission)
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.patch("/{submission_id}", response_model=SubmissionPublic)
def update_submission(body: SubmissionUpdate, submission: OwnedSubmission, user: OptionalUser,
                      session: SessionDep) -> SubmissionPublic:
    """The owner makes a submission public or private; only an admin hides or shows it."""
    if body.hidden is not None and (user is None or not user.is_admin):
        raise HTTPException(403, "only an admin can hide or show a submission")
    service.update_visibility(session, submission, public=body.public, hidden=body.hidden)
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.post("/{submission_id}/rescore", response_model=SubmissionPublic)
def rescore_submission(submission: OwnedSubmission, admin: AdminUser, session: SessionDep) -> SubmissionPublic:
    return SubmissionPublic.model_validate(service.rescore(session, submission), from_attributes=True)
