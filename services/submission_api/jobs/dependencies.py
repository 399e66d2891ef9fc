"""Scorer authentication: every worker-facing route needs the shared worker token."""
from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException

from submission_api.core.dependencies import SettingsDep


def require_worker(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = f"Bearer {settings.worker_token.get_secret_value()}"
    if authorization is None or not hmac.compare_digest(authorization, expected):
        raise HTTPException(401, "scorer routes need the worker token", headers={"WWW-Authenticate": "Bearer"})


WorkerDep = Depends(require_worker)
