"""Dependencies: sessions, the object store, the catalogue, worker and user authentication, ownership."""
from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.orm import Session

from cortexscore.storage import ObjectStore

from submission_api.platform.catalogue import Catalogue
from submission_api.core.config import ApiSettings
from submission_api.core.models import Submission, User
from submission_api.submissions.service import get_submission
from submission_api.accounts.service import authenticate


def get_settings_dep(request: Request) -> ApiSettings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_store(request: Request) -> ObjectStore:
    return request.app.state.store


def get_catalogue(request: Request) -> Catalogue:
    return request.app.state.catalogue


SettingsDep = Annotated[ApiSettings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]


def require_worker(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = f"Bearer {settings.worker_token.get_secret_value()}"
    if authorization is None or not hmac.compare_digest(authorization, expected):
        raise HTTPException(401, "scorer routes need the worker token", headers={"WWW-Authenticate": "Bearer"})


WorkerDep = Depends(require_worker)


def submission_or_404(submission_id: str, session: SessionDep) -> Submission:
    submission = get_submission(session, submission_id)
    if submission is None:
        raise HTTPException(404, f"no submission {submission_id!r}")
    return submission


SubmissionDep = Annotated[Submission, Depends(submission_or_404)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def optional_user(session: SessionDep, authorization: Annotated[str | None, Header()] = None) -> User | None:
    """The caller's user, None without an Authorization header; a bad or revoked token is 401, never anonymous."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("send the token as 'Authorization: Bearer <token>'")
    user = authenticate(session, token.strip())
    if user is None:
        raise _unauthorized("this token is unknown or revoked; create a new one with `cortexscore token create`")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]


def current_user(user: OptionalUser) -> User:
    if user is None:
        raise _unauthorized("this route needs 'Authorization: Bearer <token>'")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(403, "this route is for admins")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


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
