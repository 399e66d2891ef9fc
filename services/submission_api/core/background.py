"""Periodic work the API does in background threads: the lease sweeper and the webhook outbox."""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger("submission_api")


class PeriodicTask:
    """Calls ``work`` every ``interval`` seconds in a daemon thread; an exception is logged, never fatal."""

    def __init__(self, name: str, interval: float, work: Callable[[], object], stop_timeout: float = 5.0):
        self.name, self.interval, self.work, self.stop_timeout = name, interval, work, stop_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.stop_timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.work()
            except Exception:  # a database blip or a broken row must not end the thread
                log.exception("%s failed; retrying in %.0fs", self.name, self.interval)
