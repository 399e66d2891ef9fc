"""The lease sweeper: a background thread of the API that returns jobs with expired leases to the queue."""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from submission_api.core.background import PeriodicTask
from submission_api.core.config import ApiSettings
from submission_api.jobs.service import sweep_expired

log = logging.getLogger("submission_api")


class LeaseSweeper(PeriodicTask):
    """Returns jobs with expired leases to the queue, so their status is right even when no scorer polls."""

    def __init__(self, factory: sessionmaker[Session], settings: ApiSettings):
        super().__init__("lease-sweeper", settings.sweep_seconds, self.sweep)
        self.factory, self.settings = factory, settings

    def sweep(self) -> None:
        with self.factory() as session:
            swept = sweep_expired(session, max_attempts=self.settings.max_attempts)
        if swept:
            log.info("lease sweeper: %d expired job(s) returned to the queue or failed", swept)
