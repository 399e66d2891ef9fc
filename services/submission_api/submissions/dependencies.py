"""Submission dependencies: the submission a route names, whether the caller may read or manage it, and an
upload received, parsed and checked before the route sees it.

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

from fastapi import Depends, HTTPException, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.submission_layout import LayoutReport, check_submission_zip

from submission_api.accounts.dependencies import OptionalUser
from submission_api.accounts.quotas import QuotaExceeded, check_quota
from submission_api.core.dependencies import SessionDep, SettingsDep
from submission_api.core.models import Submission, User
from submission_api.platform.catalogue import CatalogueUnavailable
from submission_api.platform.dependencies import CatalogueDep
from submission_api.submissions.cards import InvalidMetadata, read_model_cards
from submission_api.submissions.schemas import FORM_REJECTIONS, SubmissionForm
from submission_api.submissions.service import get_submission
from submission_api.submissions.upload import ReceivedUpload, receive_upload, rejection


def submission_or_404(submission_id: str, session: SessionDep) -> Submission:
    submission = get_submission(session, submission_id)
    if submission is None:
        raise HTTPException(404, f"no submission {submission_id!r}")
    return submission


SubmissionDep = Annotated[Submission, Depends(submission_or_404)]


def is_owner(submission: Submission, user: User | None) -> bool:
    """Owners and admins manage a submission; an anonymous upload belongs to whoever holds its unguessable id."""
    if submission.owner_id is None:
        return True
    return user is not None and (user.is_admin or user.id == submission.owner_id)


def readable_submission(submission: SubmissionDep, user: OptionalUser) -> Submission:
    """Public, visible submissions are readable by all; others answer 404, as if they did not exist."""
    if is_owner(submission, user) or (submission.public and not submission.hidden):
        return submission
    raise HTTPException(404, f"no submission {submission.id!r}")


def owned_submission(submission: SubmissionDep, user: OptionalUser) -> Submission:
    if is_owner(submission, user):
        return submission
    raise HTTPException(404, f"no submission {submission.id!r}")


ReadableSubmission = Annotated[Submission, Depends(readable_submission)]
OwnedSubmission = Annotated[Submission, Depends(owned_submission)]


@dataclass
class ValidatedUpload:
    upload: ReceivedUpload
    report: LayoutReport
    benchmarks: list[BenchmarkSpec]
    public: bool
    owner: User | None
    callback_url: str | None
    model_cards: dict | None = None


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


def parsed_form(upload: ReceivedUpload) -> SubmissionForm:
    try:
        return SubmissionForm.model_validate(upload.fields)
    except ValidationError as error:
        problem = error.errors()[0]
        # Only the form's own refusals are 422s; any other error is a bug in parsing and stays a 500.
        if problem["type"] not in FORM_REJECTIONS:
            raise
        raise rejection(422, problem["type"], problem["msg"]) from None


def _private_address(host: str) -> bool:
    """True if ``host`` resolves to a loopback, private, link-local or otherwise internal address."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return False
    return any(not ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses)


def refuse_internal_callback(callback_url: str | None, allow_private: bool) -> None:
    host = urlsplit(callback_url).hostname if callback_url else None
    if host and not allow_private and _private_address(host):
        # Webhooks are sent from inside the platform: an internal address would let uploads probe our network.
        raise rejection(422, "invalid_callback_url", f"'callback_url' host {host!r} is an internal "
                                                     "address; give a publicly reachable URL")


async def validated_upload(request: Request, settings: SettingsDep, catalogue: CatalogueDep,
                           owner: Annotated[User | None, Depends(allowed_uploader)]) -> AsyncIterator[ValidatedUpload]:
    """Stream the upload to disk and check it; the temporary file is removed whatever happens next."""
    upload = await receive_upload(request, settings.var_dir / "tmp", settings.max_upload_bytes)
    try:
        form = parsed_form(upload)
        await run_in_threadpool(refuse_internal_callback, form.callback_url, settings.webhook_allow_private_addresses)
        report = await run_in_threadpool(check_submission_zip, upload.path)
        if not report.ok:
            raise HTTPException(422, report.detail())
        try:
            cards = await run_in_threadpool(read_model_cards, upload.path, report.root, report.models)
        except InvalidMetadata as error:
            raise rejection(422, "invalid_metadata", str(error)) from None
        try:
            benchmarks, unknown = await run_in_threadpool(catalogue.resolve, form.benchmarks)
        except CatalogueUnavailable as error:
            raise HTTPException(503, str(error), headers={"Retry-After": "10"}) from error
        if unknown:
            available = ", ".join(spec.identifier for spec in catalogue.all())
            raise rejection(422, "unknown_benchmark", f"unknown benchmark(s): {', '.join(unknown)}; "
                                                      f"available: {available}")
        if not benchmarks:
            raise rejection(422, "no_benchmarks", "no benchmark is available to score on")
        yield ValidatedUpload(upload, report, benchmarks, form.public, owner, form.callback_url, cards)
    finally:
        upload.discard()


ValidUpload = Annotated[ValidatedUpload, Depends(validated_upload)]
