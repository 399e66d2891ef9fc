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


@router.post("/users", status_code=201, response_model=TokenCreated, summary="Sign up",
             responses={201: {"description": "the new user and their first token, shown only here"},
                        403: {"description": "sign-up is closed and the caller is not an admin"},
                        409: {"description": "the name is taken, or reserved for the platform (`admin`, `root`, "
                                             "`cortexscore`, `reference`...)"},
                        422: {"description": "the name is not 2-64 letters, digits, '_', '.' or '-'"}})
def sign_up(body: UserCreate, caller: OptionalUser, session: SessionDep, settings: SettingsDep) -> TokenCreated:
    """A new user and their first token. Open to all when sign-up is on (the embedded default), else admins only.
    The names `admin`, `administrator`, `root`, `cortexscore` and `reference` (any case) are the platform's."""
    if not settings.allow_signup and (caller is None or not caller.is_admin):
        raise HTTPException(403, "sign-up is closed on this platform; ask an admin to create your account")
    try:
        user, row, secret = create_account(session, name=body.name, token_name=body.token_name)
    except NameTaken as error:
        raise HTTPException(409, str(error)) from None
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    return _created(row, secret, user)


@router.get("/users/me", response_model=UserPrivate, summary="Who the token belongs to",
            responses={401: {"description": "no token, or an unknown or revoked one"}})
def read_me(user: CurrentUser) -> UserPrivate:
    """The caller's account: id, name, whether an admin, and the secret that signs their submissions' webhooks."""
    return UserPrivate.model_validate(user)


@router.post("/tokens", status_code=201, response_model=TokenCreated, summary="Create another token",
             responses={201: {"description": "the token, shown only here"},
                        401: {"description": "no token, or an unknown or revoked one"}})
def new_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenCreated:
    """Another API token for the caller's account, e.g. one per CI job; only its SHA-256 is kept."""
    row, secret = issue_token(session, user=user, name=body.name)
    return _created(row, secret, user)


@router.get("/tokens", response_model=list[TokenPublic], summary="List your tokens",
            responses={401: {"description": "no token, or an unknown or revoked one"}})
def list_tokens(user: CurrentUser) -> list[TokenPublic]:
    """The caller's tokens: id, name, prefix, when created, last used and revoked; never the secrets."""
    return [TokenPublic.model_validate(row) for row in user.tokens]


@router.delete("/tokens/{token_id}", response_model=TokenPublic, summary="Revoke a token",
               responses={401: {"description": "no token, or an unknown or revoked one"},
                          404: {"description": "you have no token with this id"}})
def revoke(token_id: int, user: CurrentUser, session: SessionDep) -> TokenPublic:
    """Revokes one of the caller's tokens: it answers 401 from then on."""
    row = revoke_token(session, user=user, token_id=token_id)
    if row is None:
        raise HTTPException(404, f"you have no token {token_id}")
    return TokenPublic.model_validate(row)
