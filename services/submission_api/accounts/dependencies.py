"""The caller's user, from ``Authorization: Bearer <token>``: optional, required, or an admin."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException

from submission_api.accounts.service import authenticate
from submission_api.core.dependencies import SessionDep
from submission_api.core.models import User


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
