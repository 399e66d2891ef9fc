"""The webhook dispatcher: a background thread of the API that works through the outbox."""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from submission_api.core.background import PeriodicTask
from submission_api.core.config import ApiSettings
from submission_api.webhooks.service import deliver, due_submissions

log = logging.getLogger("submission_api.webhooks")


class WebhookDispatcher(PeriodicTask):
    """The API's background thread that works through the outbox."""

    def __init__(self, factory: sessionmaker[Session], settings: ApiSettings):
        super().__init__("webhooks", settings.webhook_poll_seconds, self.run_once,
                         stop_timeout=settings.webhook_timeout_seconds + 5)
        self.factory, self.settings = factory, settings

    def run_once(self) -> int:
        with self.factory() as session:
            due = due_submissions(session)
            for submission in due:
                try:
                    deliver(session, submission, self.settings)
                except Exception:  # one bad delivery must never stall the others
                    log.exception("webhook of submission %s failed; the others go on", submission.id)
                    session.rollback()
            return len(due)
