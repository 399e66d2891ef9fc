"""Refusing placeholder secrets: every service checks its secrets at start-up with :func:`check_secret`.

A value copied from ``deploy/.env.example`` (``change-me-...``), a former built-in default, or anything
short enough to guess would let anyone who read our repository claim jobs or read private data.
"""
from __future__ import annotations

PLACEHOLDERS = frozenset({"embedded-worker-token", "secret", "password", "token", "changeme", "admin", "test"})
MIN_SECRET_LENGTH = 16


def check_secret(value: str, setting: str, *, required: bool = True) -> str:
    """``value`` if it is a real secret; ``ValueError`` naming ``setting`` and the fix otherwise.

    An empty value passes when the secret is not ``required`` (a feature left off).

    Examples
    --------
    >>> check_secret("q8Jr2vX0pL5mN7sK3tW9yB", "API_WORKER_TOKEN")
    'q8Jr2vX0pL5mN7sK3tW9yB'
    >>> check_secret("", "API_ADMIN_TOKEN", required=False)
    ''
    >>> check_secret("change-me-worker-token", "API_WORKER_TOKEN")
    Traceback (most recent call last):
    ...
    ValueError: API_WORKER_TOKEN is a placeholder ('change-me-...'); set it to a random value, e.g. the output of `python -c "import secrets; print(secrets.token_urlsafe(32))"`
    """
    fix = 'set it to a random value, e.g. the output of `python -c "import secrets; print(secrets.token_urlsafe(32))"`'
    if not value:
        if required:
            raise ValueError(f"{setting} is not set; {fix} (`make run` generates one under var/)")
        return value
    lowered = value.lower()
    if lowered in PLACEHOLDERS or lowered.startswith(("change-me", "changeme", "replace-me", "example")):
        raise ValueError(f"{setting} is a placeholder ({value[:10]!r}...); {fix}".replace("'...", "...'"))
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"{setting} has {len(value)} characters, fewer than {MIN_SECRET_LENGTH}; {fix}")
    return value


def real_secret(setting: str, *, required: bool = True):
    """A pydantic validator for a ``SecretStr`` setting that runs :func:`check_secret` on it.

    Use with ``Field(..., validate_default=True)`` so that a missing value is refused too.
    """
    from pydantic import AfterValidator, SecretStr

    return AfterValidator(lambda value: SecretStr(check_secret(value.get_secret_value(), setting, required=required)))
