"""Completion webhooks, delivered from an outbox in the database.

A submission with a callback URL is marked ``webhook_state = "pending"``. A
background thread of the API finds pending submissions that have ended and
POSTs their scores, signed the Standard Webhooks way by
:mod:`cortexscore.webhooks`, which receivers verify with. A
non-2xx answer or a network error is retried with exponential backoff until
``webhook_max_attempts``; every attempt is recorded in ``webhook_deliveries``.
The outbox lives in the same rows the queue updates, so no completion path
needs to call it, and a restart loses nothing.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from cortexscore.webhooks import sign_webhook

from submission_api.core.config import ApiSettings
from submission_api.core.models import Submission, WebhookDelivery, utcnow
from submission_api.submissions.service import scores_of
from submission_api.webhooks.addresses import Unresolvable, check_send_time

log = logging.getLogger("submission_api.webhooks")
ENDED = ("completed", "failed", "cancelled")
RESPONSE_LIMIT_CHARS = 1000
MAX_BACKOFF_SECONDS = 3600.0
# A claimed delivery is hidden from other API processes for its timeout plus this margin.
CLAIM_MARGIN_SECONDS = 30.0


def payload(session: Session, submission: Submission) -> dict:
    scores = scores_of(session, submission, with_provenance=False).model_dump(mode="json")
    return {"type": f"submission.{submission.status}", "timestamp": utcnow().isoformat(), "data": scores}


def _claim(session: Session, submission: Submission, timeout: float) -> int | None:
    """Take the next attempt of this submission's delivery; None if another process took it first."""
    attempt = submission.webhook_attempts + 1
    claimed = session.execute(update(Submission).where(
        Submission.id == submission.id, Submission.webhook_state == "pending",
        Submission.webhook_attempts == submission.webhook_attempts,
    ).values(webhook_attempts=attempt,
             webhook_next_at=utcnow() + timedelta(seconds=timeout + CLAIM_MARGIN_SECONDS))
        .execution_options(synchronize_session=False))
    session.commit()
    return attempt if claimed.rowcount == 1 else None


def _post(url: str, secret: str, message_id: str, body: bytes, timeout: float,
          allow_private: bool = True) -> tuple[int | None, str | None, str | None]:
    """POST the delivery; a URL that cannot be sent, or (unless ``allow_private``) whose host does not resolve or
    resolves to an internal address now, is an error recorded without a request: it never raises."""
    try:
        host = urlsplit(url).hostname
        if not host:
            raise ValueError(f"the URL {url[:100]!r} has no host")
        if not allow_private:
            check_send_time(host)
    except (ValueError, Unresolvable) as error:
        return None, None, f"refused: {error}"[:RESPONSE_LIMIT_CHARS]
    timestamp = int(time.time())
    headers = {"content-type": "application/json", "user-agent": "CortexScore-Webhooks/1",
               "webhook-id": message_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": sign_webhook(secret, message_id, timestamp, body)}
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
    except Exception as error:  # httpx.InvalidURL, a bad header value...: a bad URL is this delivery's failure only
        return None, None, f"{type(error).__name__}: {error}"[:RESPONSE_LIMIT_CHARS]
    return response.status_code, response.text[:RESPONSE_LIMIT_CHARS], None


def deliver(session: Session, submission: Submission, settings: ApiSettings) -> WebhookDelivery | None:
    """Make one delivery attempt for an ended submission and record it; None if another process holds it."""
    if submission.webhook_attempts >= settings.webhook_max_attempts:
        # Never past the maximum, even for a row left pending by an older version that crashed mid-delivery.
        submission.webhook_state = "exhausted"
        session.commit()
        return None
    attempt = _claim(session, submission, settings.webhook_timeout_seconds)
    if attempt is None:
        return None
    session.refresh(submission)
    # One id per delivery, kept across its retries so receivers can de-duplicate; a rescore starts a new one.
    generation = session.scalar(select(func.count(WebhookDelivery.id)).where(
        WebhookDelivery.submission_id == submission.id, WebhookDelivery.succeeded.is_(True)))
    message_id = f"msg_{submission.id}_{generation}"
    document = payload(session, submission)
    body = json.dumps(document, separators=(",", ":")).encode()
    status_code, response_body, error = _post(submission.callback_url, submission.webhook_secret or "", message_id,
                                              body, settings.webhook_timeout_seconds,
                                              settings.webhook_allow_private_addresses)
    succeeded = status_code is not None and 200 <= status_code < 300
    record = WebhookDelivery(submission_id=submission.id, message_id=message_id, attempt=attempt,
                             url=submission.callback_url, event=document["type"], status_code=status_code,
                             succeeded=succeeded, error=error, response_body=response_body)
    session.add(record)
    if succeeded:
        submission.webhook_state = "delivered"
    elif attempt >= settings.webhook_max_attempts:
        submission.webhook_state = "exhausted"
    else:
        delay = min(settings.webhook_backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
        submission.webhook_next_at = utcnow() + timedelta(seconds=delay)
    session.commit()
    log.info("webhook %s attempt %d to %r: %s", message_id, attempt, submission.callback_url,
             status_code if error is None else error)
    return record


def due_submissions(session: Session, limit: int = 20) -> list[Submission]:
    return list(session.scalars(select(Submission).where(
        Submission.webhook_state == "pending", Submission.status.in_(ENDED),
        or_(Submission.webhook_next_at.is_(None), Submission.webhook_next_at <= utcnow()),
    ).order_by(Submission.webhook_next_at).limit(limit)))
