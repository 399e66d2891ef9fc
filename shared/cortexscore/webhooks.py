"""Completion webhooks signed the Standard Webhooks way, in one place for the platform and its receivers.

A delivery carries ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature:
v1,<base64 HMAC-SHA256 of id.timestamp.body>``; the key is the base64 part of a
``whsec_`` secret. The API signs with :func:`sign_webhook`, a receiver checks
with :func:`verify_webhook`, and both read the secret format made by
:func:`new_webhook_secret`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping

WEBHOOK_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"


class WebhookVerificationError(ValueError):
    pass


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _webhook_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign_webhook(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of a delivery: ``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body``.

    The Standard Webhooks reference example:

    >>> sign_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
    ...              b'{"test": 2432232314}')
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    content = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_webhook_key(secret), content, hashlib.sha256).digest()).decode()


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes,
                   tolerance_seconds: float = WEBHOOK_TOLERANCE_SECONDS, now: float | None = None) -> dict:
    """Check a delivery's signature and age; return its parsed JSON body or raise WebhookVerificationError.

    >>> secret, body = "whsec_" + base64.b64encode(b"key").decode(), b'{"type": "submission.completed"}'
    >>> headers = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000",
    ...            "webhook-signature": sign_webhook(secret, "msg_1", 1700000000, body)}
    >>> verify_webhook(secret, headers, body, now=1700000010)["type"]
    'submission.completed'
    >>> verify_webhook(secret, headers, body + b" ", now=1700000010)
    Traceback (most recent call last):
    ...
    cortexscore.webhooks.WebhookVerificationError: no signature in 'webhook-signature' matches the body; ...
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    missing = [name for name in ("webhook-id", "webhook-timestamp", "webhook-signature") if name not in lowered]
    if missing:
        raise WebhookVerificationError(f"the delivery lacks the header(s) {', '.join(missing)}")
    timestamp = int(lowered["webhook-timestamp"])
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        raise WebhookVerificationError(f"the delivery's timestamp {timestamp} is more than {tolerance_seconds}s "
                                       "from now; it may be a replay")
    expected = sign_webhook(secret, lowered["webhook-id"], timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in lowered["webhook-signature"].split()):
        raise WebhookVerificationError("no signature in 'webhook-signature' matches the body; check the secret "
                                       "(GET /users/me) and that the raw body is verified before parsing")
    return json.loads(body)
