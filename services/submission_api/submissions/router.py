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
                                                SubmissionUpdate, visibility_note)

router = APIRouter(prefix="/submissions", tags=["submissions"])


@router.post("", status_code=202, response_model=SubmissionCreatedPublic, summary="Upload a submission",
             responses={202: {"description": "accepted and queued: its id, models and benchmarks, whether it is "
                                             "public and how to change that (`visibility`), and for an anonymous "
                                             "upload its owner secret, shown only here"},
                        401: {"description": "anonymous uploads are closed on this platform, or a bad token"},
                        422: {"description": "the zip or a form field is refused: every problem, each naming its "
                                             "file or rule"},
                        429: {"description": "a quota or the anonymous rate limit; retry after `Retry-After`"}})
def submit(validated: ValidUpload, session: SessionDep, store: StoreDep) -> SubmissionCreatedPublic:
    """Multipart form: `file` (a zip of one submission folder, tutorial or plugin layout), `benchmarks` (comma-
    separated; default the leaderboard suite), `public` (default false: private) and `callback_url` (POSTed,
    signed, when scoring ends). The zip is checked without running any code, then one job per model and
    benchmark is queued. A private submission is on the leaderboard only for its signed-in owner; the answer's
    `visibility` says how to make it public (`PATCH /submissions/{id}` with `{"public": true}`)."""
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
                                   owner_secret=secret, public=submission.public,
                                   visibility=visibility_note(submission.id, public=submission.public,
                                                              anonymous=owner is None))


@router.get("/{submission_id}", response_model=SubmissionPublic, summary="A submission's status",
            responses={404: {"description": "no such submission, or a private one you do not own"}})
def read_submission(submission: ReadableSubmission) -> SubmissionPublic:
    """Status (`queued`, `running`, `completed`, `failed`, `cancelled`), layout, models, benchmarks and every
    job's status and attempts. Public submissions and anonymous uploads are readable by id; private ones by
    their owner."""
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.get("/{submission_id}/scores", response_model=ScoresPublic, summary="A submission's scores",
            responses={404: {"description": "no such submission, or a private one you do not own"},
                       422: {"description": "`limit` above the platform's page size"}})
async def read_scores(submission_id: str, request: Request,
                      authorization: Annotated[str | None, Header()] = None,
                      x_owner_secret: Annotated[str | None, Header()] = None,
                      offset: Annotated[int, Query(ge=0, le=1 << 31, description="the first score entry of this page")] = 0,
                      limit: Annotated[int | None, Query(ge=1, le=1 << 31, description="score entries per page; at most "
                                                                           "the platform's page size")] = None,
                      ) -> ScoresPublic:
    """Every score entry (raw, ceiling, ceiled, error, committed layer, provenance), a page at a time, and the
    aggregates of every model; readable as `GET /submissions/{id}` is."""
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


@router.get("/{submission_id}/logs", response_model=LogsPublic, summary="A submission's scoring logs",
            responses={403: {"description": "a public anonymous submission without its X-Owner-Secret"},
                       404: {"description": "no such submission, or a private one you do not own"}})
def read_logs(submission: OwnedSubmission) -> LogsPublic:
    """Each job's log, as the scorers reported it. Owner only: its token, or an anonymous upload's
    `X-Owner-Secret`."""
    return service.logs_of(submission)


@router.delete("/{submission_id}", response_model=SubmissionPublic, summary="Cancel a submission",
               responses={403: {"description": "a public anonymous submission without its X-Owner-Secret"},
                       404: {"description": "no such submission, or a private one you do not own"}})
def cancel_submission(submission: OwnedSubmission, session: SessionDep) -> SubmissionPublic:
    """Cancels the queued and running jobs of a submission you own; scores already recorded stay."""
    service.cancel(session, submission)
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.patch("/{submission_id}", response_model=SubmissionPublic, summary="Make a submission public or private",
              responses={403: {"description": "a public anonymous submission without its X-Owner-Secret"},
                       404: {"description": "no such submission, or a private one you do not own"}})
def update_submission(body: SubmissionUpdate, submission: OwnedSubmission, user: OptionalUser,
                      session: SessionDep) -> SubmissionPublic:
    """The owner makes a submission public (`{"public": true}`: on everyone's leaderboard) or private (on the
    leaderboard only for the owner); only an admin hides or shows it (`hidden`)."""
    if body.hidden is not None and (user is None or not user.is_admin):
        raise HTTPException(403, "only an admin can hide or show a submission")
    service.update_visibility(session, submission, public=body.public, hidden=body.hidden)
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.post("/{submission_id}/rescore", response_model=SubmissionPublic, summary="Rescore a submission (admins)",
             responses={403: {"description": "not an admin"}, 404: {"description": "no such submission"}})
def rescore_submission(submission: OwnedSubmission, admin: AdminUser, session: SessionDep) -> SubmissionPublic:
    """Queues every job of the submission again on the current benchmark versions; earlier scores stay in the
    score history (`GET /leaderboard?as_of=`)."""
    return SubmissionPublic.model_validate(service.rescore(session, submission), from_attributes=True)
