"""Users and their API tokens. A token is shown once, at creation; only its SHA-256 is stored."""
from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from cortexscore.webhooks import new_webhook_secret

from submission_api.core.models import ApiToken, User, utcnow

TOKEN_PREFIX = "cs_"
ADMIN_NAME = "admin"
# The account whose public submissions the leaderboard marks as reference models (`make seed` submits them).
REFERENCE_NAME = "reference"
# The name of the token start-up gives the reference account: how start-up tells its own account from a squatter's.
REFERENCE_TOKEN_NAME = "reference account (API_REFERENCE_TOKEN)"
# Names only start-up may give: a user who signed up as one of them could pass for the operator or its models.
RESERVED_NAMES = frozenset({ADMIN_NAME, "administrator", "root", "cortexscore", REFERENCE_NAME})
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")


class NameTaken(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ValueError(f"the user name {name!r} must be 2-64 letters, digits, '_', '.' or '-', "
                         "starting with a letter or digit")


def create_user(session: Session, *, name: str, is_admin: bool = False) -> User:
    """A new user; raises NameTaken if the name is in use."""
    _check_name(name)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise NameTaken(f"the user name {name!r} is taken; choose another")
    user = User(name=name, is_admin=is_admin, webhook_secret=new_webhook_secret())
    session.add(user)
    session.flush()
    return user


def create_token(session: Session, *, user: User, name: str = "", token: str | None = None) -> tuple[ApiToken, str]:
    """Issue a token for ``user``; returns the row and the secret, which is never readable again."""
    secret = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name[:128], token_hash=hash_token(secret), prefix=secret[:8])
    session.add(row)
    session.flush()
    return row, secret


def create_account(session: Session, *, name: str, token_name: str = "") -> tuple[User, ApiToken, str]:
    """A new user and their first token, committed together; raises NameTaken or ValueError as create_user does,
    and NameTaken for a reserved name."""
    if name.casefold() == REFERENCE_NAME:
        raise NameTaken(f"the user name {name!r} is reserved for the platform's reference models (`make seed` "
                        "submits them with the reference account's token); choose another")
    if name.casefold() in RESERVED_NAMES:
        raise NameTaken(f"the user name {name!r} is reserved for the platform; choose another")
    user = create_user(session, name=name)
    row, secret = create_token(session, user=user, name=token_name)
    session.commit()
    return user, row, secret


def issue_token(session: Session, *, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Another token for ``user``, committed; returns the row and the secret, as create_token does."""
    row, secret = create_token(session, user=user, name=name)
    session.commit()
    return row, secret


def authenticate(session: Session, token: str) -> User | None:
    """The user holding this live token, or None."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                                                ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    row.last_used_at = utcnow()
    session.commit()
    return row.user


def revoke_token(session: Session, *, user: User, token_id: int) -> ApiToken | None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return row


class AdminNameSquatted(RuntimeError):
    """A user who is not an admin holds the admin name (signed up before the name was reserved)."""


def ensure_admin(session: Session, token: str) -> User:
    """The bootstrap admin: created on first start, and holding ``token`` whatever it held before.

    Start-up never promotes an existing user: if a non-admin holds the admin name, or the token is
    already some other user's, it raises AdminNameSquatted and changes nothing.
    """
    admin = session.scalar(select(User).where(User.name == ADMIN_NAME))
    if admin is None:
        admin = create_user(session, name=ADMIN_NAME, is_admin=True)
    elif not admin.is_admin:
        session.rollback()
        raise AdminNameSquatted(f"user {admin.id} holds the name {ADMIN_NAME!r} but is not an admin; start-up "
                                "does not promote it. Rename or delete that user, then start again")
    held = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if held is None:
        create_token(session, user=admin, name="bootstrap", token=token)
    elif held.user_id != admin.id:
        session.rollback()
        raise AdminNameSquatted(f"API_ADMIN_TOKEN is already the token of user {held.user_id}; choose another")
    session.commit()
    return admin


class ReferenceAccountRefused(RuntimeError):
    """Start-up cannot give API_REFERENCE_TOKEN to the reference account without handing someone else's rights."""


def ensure_reference(session: Session, token: str) -> User:
    """The reserved ``reference`` account: created on first start, holding ``token`` and no other start-up token.

    A new ``token`` (``var/reference-token`` made again, or the setting changed) replaces the one start-up gave
    before, which is revoked. Start-up never adopts a user it did not create: if a user who signed up before the
    name was reserved holds it, or the token is already some other user's (or revoked), it raises
    ReferenceAccountRefused and changes nothing.
    """
    user = session.scalar(select(User).where(User.name == REFERENCE_NAME))
    if user is None:
        user = create_user(session, name=REFERENCE_NAME)
    elif user.is_admin or not any(row.name == REFERENCE_TOKEN_NAME for row in user.tokens):
        session.rollback()
        raise ReferenceAccountRefused(f"user {user.id} holds the name {REFERENCE_NAME!r} but was not created by "
                                      "start-up; its submissions would pass for reference models. Rename or delete "
                                      "that user, then start again")
    held = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if held is not None and held.user_id != user.id:
        session.rollback()
        raise ReferenceAccountRefused(f"API_REFERENCE_TOKEN is already the token of user {held.user_id}; "
                                      "choose another")
    if held is not None and held.revoked_at is not None:
        session.rollback()
        raise ReferenceAccountRefused("API_REFERENCE_TOKEN was revoked; set a new one (`make run`: delete "
                                      "var/reference-token and start again)")
    if held is None:
        held, _ = create_token(session, user=user, name=REFERENCE_TOKEN_NAME, token=token)
    for row in user.tokens:
        if row.name == REFERENCE_TOKEN_NAME and row.id != held.id and row.revoked_at is None:
            row.revoked_at = utcnow()
    session.commit()
    return user
