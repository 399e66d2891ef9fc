"""Dependencies: sessions, the object store, the catalogue, worker authentication and upload validation."""
from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.orm import Session

from cortexscore.storage import ObjectStore

from submission_api.catalogue import Catalogue
from submission_api.config import ApiSettings
from submission_api.models import Submission
from submission_api.services.submissions import get_submission


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
