"""Accounts and API tokens. A token appears in exactly one response: the one that creates it."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException

from submission_api.accounts.dependencies import CurrentUser, OptionalUser
from submission_api.accounts.schemas import (TokenCreate, TokenCreated, TokenPublic, UserCreate, UserPrivate,
                                             UserPublic)
from submission_api.accounts.service import NameTaken, create_account, issue_token, revoke_token
from submission_api.core.dependencies import SessionDep, SettingsDep

router = APIRouter(tags=["accounts"])


def _created(row, secret: str, user) -> TokenCreated:
    return TokenCreated(**TokenPublic.model_validate(row).model_dump(), token=secret,
                        user=UserPublic.model_validate(user))


@router.post("/users", status_code=201, response_model=TokenCreated)
def sign_up(body: UserCreate, caller: OptionalUser, session: SessionDep, settings: SettingsDep) -> TokenCreated:
    """A new user and their first token. Open to all when sign-up is on (the embedded default), else admins only."""
    if not settings.allow_signup and (caller is None or not caller.is_admin):
        raise HTTPException(403, "sign-up is closed on this platform; ask an admin to create your account")
    try:
        user, row, secret = create_account(session, name=body.name, token_name=body.token_name)
    except NameTaken as error:
        raise HTTPException(409, str(error)) from None
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    return _created(row, secret, user)


@router.get("/users/me", response_model=UserPrivate)
def read_me(user: CurrentUser) -> UserPrivate:
    return UserPrivate.model_validate(user)


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def new_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenCreated:
    row, secret = issue_token(session, user=user, name=body.name)
    return _created(row, secret, user)


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(user: CurrentUser) -> list[TokenPublic]:
    return [TokenPublic.model_validate(row) for row in user.tokens]


@router.delete("/tokens/{token_id}", response_model=TokenPublic)
def revoke(token_id: int, user: CurrentUser, session: SessionDep) -> TokenPublic:
    row = revoke_token(session, user=user, token_id=token_id)
    if row is None:
        raise HTTPException(404, f"you have no token {token_id}")
    return TokenPublic.model_validate(row)
