"""Public submission routes: upload, status, scores, logs, cancel, and their admin actions.

Who may see what: owners and admins see everything of a submission; others
see only public, visible ones and never their logs; everything else is 404.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.submission_layout import LayoutReport, check_submission_zip

from submission_api.platform.catalogue import CatalogueUnavailable
from submission_api.core.dependencies import (AdminUser, CatalogueDep, OptionalUser, OwnedSubmission, ReadableSubmission,
                                 SessionDep, SettingsDep, StoreDep, optional_user, readable_submission,
                                 submission_or_404)
from submission_api.core.models import User
from submission_api.submissions.schemas import LogsPublic, ScoresPublic, SubmissionPublic
from submission_api.jobs import service as queue
from submission_api.submissions.moderation import rescore
from submission_api.accounts.quotas import QuotaExceeded, check_quota
from submission_api.submissions.service import create_submission, scores_of
from submission_api.accounts.service import new_webhook_secret
from submission_api.accounts.schemas import SubmissionCreatedPublic, SubmissionUpdate, WebhookDeliveryPublic
from submission_api.submissions.upload import ReceivedUpload, receive_upload, rejection

router = APIRouter(prefix="/submissions", tags=["submissions"])
TRUE_WORDS = {"1", "true", "yes", "on"}
BOOL_WORDS = TRUE_WORDS | {"0", "false", "no", "off", ""}


@dataclass
class ValidatedUpload:
    upload: ReceivedUpload
    report: LayoutReport
    benchmarks: list[BenchmarkSpec]
    public: bool
    owner: User | None
    callback_url: str | None


def allowed_uploader(user: OptionalUser, session: SessionDep, settings: SettingsDep) -> User | None:
    """Checked before a byte of the upload is read: who uploads, and whether their quota allows it."""
    if user is None:
        if not settings.allow_anonymous:
            raise HTTPException(401, "uploads need 'Authorization: Bearer <token>'; ask an admin for an account",
                                headers={"WWW-Authenticate": "Bearer"})
        return None
    try:
        check_quota(session, user_id=user.id, uploads_per_day=settings.quota_uploads_per_day,
                    concurrent_jobs=settings.quota_concurrent_jobs)
    except QuotaExceeded as error:
        raise HTTPException(429, error.message, headers={"Retry-After": str(error.retry_after)}) from None
    return user


def _private_address(host: str) -> bool:
    """True if ``host`` resolves to a loopback, private, link-local or otherwise internal address."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return False
    return any(not ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses)


def _callback_url(value: str | None, allow_private: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 2048:
        raise rejection(422, "invalid_callback_url", f"'callback_url' must be an http(s) URL of at most 2048 "
                                                     f"characters, not {value[:100]!r}")
    if not allow_private and _private_address(parts.hostname):
        # Webhooks are sent from inside the platform: an internal address would let uploads probe our network.
        raise rejection(422, "invalid_callback_url", f"'callback_url' host {parts.hostname!r} is an internal "
                                                     "address; give a publicly reachable URL")
    return value


async def validated_upload(request: Request, settings: SettingsDep, catalogue: CatalogueDep,
                           owner: Annotated[User | None, Depends(allowed_uploader)]) -> AsyncIterator[ValidatedUpload]:
    """Stream the upload to disk and check it; the temporary file is removed whatever happens next."""
    upload = await receive_upload(request, settings.var_dir / "tmp", settings.max_upload_bytes)
    try:
        public_word = upload.fields.get("public", "").strip().lower()
        if public_word not in BOOL_WORDS:
            raise rejection(422, "invalid_public", f"'public' must be true or false, not {public_word!r}")
        callback_url = await run_in_threadpool(_callback_url, upload.fields.get("callback_url"),
                                               settings.webhook_allow_private_addresses)
        report = await run_in_threadpool(check_submission_zip, upload.path)
        if not report.ok:
            raise HTTPException(422, report.detail())
        try:
            benchmarks, unknown = await run_in_threadpool(catalogue.resolve, upload.fields.get("benchmarks"))
        except CatalogueUnavailable as error:
            raise HTTPException(503, str(error), headers={"Retry-After": "10"}) from error
        if unknown:
            available = ", ".join(spec.identifier for spec in catalogue.all())
            raise rejection(422, "unknown_benchmark", f"unknown benchmark(s): {', '.join(unknown)}; "
                                                      f"available: {available}")
        if not benchmarks:
            raise rejection(422, "no_benchmarks", "no benchmark is available to score on")
        yield ValidatedUpload(upload, report, benchmarks, public_word in TRUE_WORDS, owner, callback_url)
    finally:
        upload.discard()


@router.post("", status_code=202, response_model=SubmissionCreatedPublic)
def submit(validated: Annotated[ValidatedUpload, Depends(validated_upload)], session: SessionDep,
           store: StoreDep) -> SubmissionCreatedPublic:
    owner = validated.owner
    submission = create_submission(session, store=store, upload=validated.upload, report=validated.report,
                                   benchmarks=validated.benchmarks, public=validated.public,
                                   owner_id=owner.id if owner else None, callback_url=validated.callback_url,
                                   webhook_secret=owner.webhook_secret if owner else new_webhook_secret())
    return SubmissionCreatedPublic(id=submission.id, status=submission.status, models=submission.models,
                                   benchmarks=submission.benchmarks, webhook_secret=submission.webhook_secret)


@router.get("/{submission_id}", response_model=SubmissionPublic)
def read_submission(submission: ReadableSubmission) -> SubmissionPublic:
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.get("/{submission_id}/scores", response_model=ScoresPublic)
async def read_scores(submission_id: str, request: Request,
                      authorization: Annotated[str | None, Header()] = None) -> ScoresPublic:
    # Every `cortexscore submit --wait` polls here. Through the sync dependencies (session in and out, submission,
    # user, readability), the sync route and its response validation, a poll took seven trips between the event
    # loop and the threadpool, each a GIL hand-off: under a burst of polls those hand-offs, more than the queries,
    # made the tail. One trip runs the same checks in the same order.
    return await run_in_threadpool(_readable_scores, request.app.state.sessionmaker, submission_id, authorization)


def _readable_scores(factory: sessionmaker[Session], submission_id: str, authorization: str | None) -> ScoresPublic:
    with factory() as session:
        submission = submission_or_404(submission_id, session)
        return scores_of(session, readable_submission(submission, optional_user(session, authorization)))


@router.get("/{submission_id}/logs", response_model=LogsPublic)
def read_logs(submission: OwnedSubmission) -> LogsPublic:
    parts = [f"===== {job.model} on {job.benchmark} v{job.benchmark_version}: {job.status} =====\n{job.log}"
             for job in submission.jobs]
    return LogsPublic(submission_id=submission.id, log="\n".join(parts))


@router.delete("/{submission_id}", response_model=SubmissionPublic)
def cancel_submission(submission: OwnedSubmission, session: SessionDep) -> SubmissionPublic:
    queue.cancel(session, submission)
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.patch("/{submission_id}", response_model=SubmissionPublic)
def update_submission(body: SubmissionUpdate, submission: OwnedSubmission, user: OptionalUser,
                      session: SessionDep) -> SubmissionPublic:
    """The owner makes a submission public or private; only an admin hides or shows it."""
    if body.hidden is not None:
        if user is None or not user.is_admin:
            raise HTTPException(403, "only an admin can hide or show a submission")
        submission.hidden = body.hidden
    if body.public is not None:
        submission.public = body.public
    session.commit()
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.post("/{submission_id}/rescore", response_model=SubmissionPublic)
def rescore_submission(submission: OwnedSubmission, admin: AdminUser, session: SessionDep) -> SubmissionPublic:
    return SubmissionPublic.model_validate(rescore(session, submission), from_attributes=True)


@router.get("/{submission_id}/webhooks", response_model=list[WebhookDeliveryPublic])
def read_webhook_deliveries(submission: OwnedSubmission) -> list[WebhookDeliveryPublic]:
    return [WebhookDeliveryPublic.model_validate(row) for row in submission.webhook_deliveries]
