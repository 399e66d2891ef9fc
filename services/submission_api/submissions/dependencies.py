"""Submission dependencies: the submission a route names, whether the caller may read or manage it, and an
upload received, parsed and checked before the route sees it.

Who may see what: owners and admins see everything of a submission; others
see only public, visible ones and never their logs; everything else is 404.
"""
from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Header, HTTPException, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.submission_layout import LayoutReport, check_submission_zip
from cortexscore.weights import InvalidWeightsDeclaration, declared_weights

from submission_api.accounts.dependencies import OptionalUser
from submission_api.accounts.service import hash_token
from submission_api.accounts.quotas import QuotaExceeded, check_quota
from submission_api.core.dependencies import SessionDep, SettingsDep
from submission_api.core.models import Submission, User
from submission_api.platform.catalogue import CatalogueUnavailable
from submission_api.platform.dependencies import CatalogueDep
from submission_api.submissions.cards import InvalidMetadata, read_model_cards
from submission_api.submissions.schemas import FORM_REJECTIONS, SubmissionForm
from submission_api.submissions.service import get_submission
from submission_api.submissions.upload import ReceivedUpload, receive_upload, rejection
from submission_api.webhooks.addresses import internal_address
from submission_api.weights.dependencies import answered_as_rejections
from submission_api.weights.service import resolve_references


def submission_or_404(submission_id: str, session: SessionDep) -> Submission:
    submission = get_submission(session, submission_id)
    if submission is None:
        raise HTTPException(404, f"no submission {submission_id!r}")
    return submission


SubmissionDep = Annotated[Submission, Depends(submission_or_404)]


OWNER_SECRET_HEADER = "X-Owner-Secret"


def owner_secret(x_owner_secret: Annotated[str | None, Header(description="the owner secret an anonymous upload "
                                                                            "answered with")] = None) -> str | None:
    return x_owner_secret


OwnerSecret = Annotated[str | None, Depends(owner_secret)]


def is_owner(submission: Submission, user: User | None, secret: str | None = None) -> bool:
    """Owners and admins manage a submission. An anonymous upload belongs to whoever holds the owner secret its
    upload answered with, never to whoever knows its id (the leaderboard publishes ids)."""
    if user is not None and user.is_admin:
        return True
    if submission.owner_id is None:
        return bool(secret and submission.owner_secret_hash
                    and hmac.compare_digest(hash_token(secret), submission.owner_secret_hash))
    return user is not None and user.id == submission.owner_id


def readable_submission(submission: SubmissionDep, user: OptionalUser, secret: OwnerSecret = None) -> Submission:
    """Public, visible submissions are readable by all; others answer 404, as if they did not exist. An anonymous
    upload's status and scores stay readable by its unguessable id (a client polls them); its logs are not."""
    if (is_owner(submission, user, secret) or (submission.public and not submission.hidden)
            or submission.owner_id is None):
        return submission
    raise HTTPException(404, f"no submission {submission.id!r}")


def owned_submission(submission: SubmissionDep, user: OptionalUser, secret: OwnerSecret = None) -> Submission:
    if is_owner(submission, user, secret):
        return submission
    if submission.owner_id is None and (submission.public and not submission.hidden):
        raise HTTPException(403, f"only the uploader may manage anonymous submission {submission.id!r}: send the "
                                 f"owner secret its upload answered with in the {OWNER_SECRET_HEADER} header")
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
    # Issue 13: the uploaded weights its weights.toml refers to, each checked ready and the submitter's own.
    weights: list[dict] = field(default_factory=list)


def allowed_uploader(request: Request, user: OptionalUser, session: SessionDep, settings: SettingsDep) -> User | None:
    """Checked before a byte of the upload is read: who uploads, and whether their quota allows it."""
    if user is None:
        if not settings.allow_anonymous:
            raise HTTPException(401, "uploads need 'Authorization: Bearer <token>'; ask an admin for an account",
                                headers={"WWW-Authenticate": "Bearer"})
        address = request.client.host if request.client else "unknown"
        wait = request.app.state.anonymous_uploads.hit(address)
        if wait:
            raise HTTPException(429, f"anonymous uploads are limited to {settings.anonymous_uploads_per_window} per "
                                     f"{settings.anonymous_upload_window_seconds:g} s from one address; try again in "
                                     f"{wait} s, or sign up and upload with a token", headers={"Retry-After": str(wait)})
        return None
    try:
        check_quota(session, user_id=user.id, uploads_per_day=settings.quota_uploads_per_day,
                    concurrent_jobs=settings.quota_concurrent_jobs)
    except QuotaExceeded as error:
        raise HTTPException(429, error.message, headers={"Retry-After": str(error.retry_after)}) from None
    return user


def check_jobs_quota(request: Request, owner: User | None, new_jobs: int, settings) -> None:
    """Every upload's jobs (models x benchmarks) count against the concurrent-jobs quota, with those in flight."""
    limit = settings.quota_concurrent_jobs
    if new_jobs > limit:
        raise rejection(422, "too_many_jobs", f"this upload makes {new_jobs} jobs (models x benchmarks), more than "
                                              f"the quota of {limit} jobs in flight; upload fewer models or benchmarks")
    if owner is None:
        return
    with request.app.state.sessionmaker() as session:
        try:
            check_quota(session, user_id=owner.id, uploads_per_day=settings.quota_uploads_per_day,
                        concurrent_jobs=limit, new_jobs=new_jobs)
        except QuotaExceeded as error:
            raise HTTPException(429, error.message, headers={"Retry-After": str(error.retry_after)}) from None


def referenced_weights(request: Request, upload: ReceivedUpload, root: str, owner: User | None) -> list[dict]:
    """The weights the zip's weights.toml names, each a ready upload of the submitter's, or a named refusal."""
    try:
        declared = declared_weights(upload.path, root)
    except InvalidWeightsDeclaration as error:
        raise rejection(422, "invalid_weights", str(error)) from None
    if not declared:
        return []
    with request.app.state.sessionmaker() as session, answered_as_rejections():
        return resolve_references(session, owner_id=owner.id if owner else None, declared=declared)


def parsed_form(upload: ReceivedUpload) -> SubmissionForm:
    try:
        return SubmissionForm.model_validate(upload.fields)
    except ValidationError as error:
        problem = error.errors()[0]
        # Only the form's own refusals are 422s; any other error is a bug in parsing and stays a 500.
        if problem["type"] not in FORM_REJECTIONS:
            raise
        raise rejection(422, problem["type"], problem["msg"]) from None


def refuse_internal_callback(callback_url: str | None, allow_private: bool) -> None:
    host = urlsplit(callback_url).hostname if callback_url else None
    if host and not allow_private and internal_address(host) is not None:
        # Webhooks are sent from inside the platform: an internal address would let uploads probe our network.
        # A host that does not resolve yet is let through: it is resolved and checked again at send time.
        raise rejection(422, "invalid_callback_url", f"'callback_url' host {host!r} is an internal "
                                                     "address; give a publicly reachable URL")


async def validated_upload(request: Request, settings: SettingsDep, catalogue: CatalogueDep,
                           owner: Annotated[User | None, Depends(allowed_uploader)]) -> AsyncIterator[ValidatedUpload]:
    """Stream the upload to disk and check it; the temporary file is removed whatever happens next."""
    upload = await receive_upload(request, settings.var_dir / "tmp", settings.max_upload_bytes,
                                  settings.upload_idle_timeout_seconds)
    try:
        form = parsed_form(upload)
        await run_in_threadpool(refuse_internal_callback, form.callback_url, settings.webhook_allow_private_addresses)
        report = await run_in_threadpool(check_submission_zip, upload.path)
        if not report.ok:
            raise HTTPException(422, report.detail())
        if len(report.models) > settings.max_models_per_upload:
            raise rejection(422, "too_many_models", f"the zip holds {len(report.models)} models, more than the limit "
                                                    f"of {settings.max_models_per_upload} per upload; split it")
        try:
            cards = await run_in_threadpool(read_model_cards, upload.path, report.root, report.models)
        except InvalidMetadata as error:
            raise rejection(422, "invalid_metadata", str(error)) from None
        weights = await run_in_threadpool(referenced_weights, request, upload, report.root, owner)
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
        await run_in_threadpool(check_jobs_quota, request, owner, len(report.models) * len(benchmarks), settings)
        yield ValidatedUpload(upload, report, benchmarks, form.public, owner, form.callback_url, cards, weights)
    finally:
        upload.discard()


ValidUpload = Annotated[ValidatedUpload, Depends(validated_upload)]
