"""Issue 15, part 2: callback URLs are checked again when sent, and one bad delivery never stalls the others."""
import json
import sqlite3
import time

import httpx
import pytest

from tests.conftest import start_platform
from tests.submission_api.webhooks.test_webhooks import Receiver
from tests.zips import tutorial_files, write_zip

MAX_ATTEMPTS = 3
WEBHOOK_ENV = {"API_WEBHOOK_POLL_SECONDS": "0.3", "API_WEBHOOK_BACKOFF_SECONDS": "0.3",
               "API_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "API_WEBHOOK_TIMEOUT_SECONDS": "3"}


def _start(var, allow_private: bool):
    platform = start_platform(var, scorers=0, API_WEBHOOK_ALLOW_PRIVATE_ADDRESSES=str(allow_private).lower(),
                              **WEBHOOK_ENV)
    with httpx.Client(base_url=platform.url) as client:
        platform.token = client.post("/users", json={"name": "hooked"}).json()["token"]
    return platform


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """As deployed: webhooks only to public addresses."""
    platform = _start(tmp_path_factory.mktemp("hooks-closed"), allow_private=False)
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def open_platform(tmp_path_factory):
    """The embedded default: loopback receivers allowed."""
    platform = _start(tmp_path_factory.mktemp("hooks-open"), allow_private=True)
    yield platform
    platform.stop()


@pytest.fixture
def receiver():
    running = Receiver([])
    yield running
    running.close()


def submit(platform, tmp_path, callback_url) -> str:
    path = write_zip(tmp_path / "hooked.zip", tutorial_files())
    with open(path, "rb") as handle:
        response = httpx.post(f"{platform.url}/submissions", headers={"Authorization": f"Bearer {platform.token}"},
                              files={"file": ("hooked.zip", handle, "application/zip")}, timeout=60,
                              data={"benchmarks": "Synthetic2026.IT-pls", "callback_url": callback_url})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def set_callback(platform, submission_id, url) -> None:
    """Change the stored URL behind the API's back: what a DNS change after the upload, or a row written by an
    older version, amounts to."""
    with sqlite3.connect(platform.var / "cortexscore.db", timeout=30) as db:
        db.execute("UPDATE submissions SET callback_url = ? WHERE id = ?", (url, submission_id))


def deliveries(platform, submission_id, at_least=1, timeout=30) -> list[dict]:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.token}"}) as client:
        while True:
            rows = client.get(f"/submissions/{submission_id}/webhooks").json()
            if len(rows) >= at_least or time.monotonic() > deadline:
                return rows
            time.sleep(0.3)


def cancel(platform, submission_id) -> None:
    httpx.delete(f"{platform.url}/submissions/{submission_id}", headers={"Authorization": f"Bearer {platform.token}"})


def test_an_internal_address_is_refused_at_send_time(closed, receiver, tmp_path):
    """The host passed the upload's check, then came to point inside the platform's network: nothing is sent,
    and the recorded attempt says why (no status code to map internal ports with)."""
    submission = submit(closed, tmp_path, "http://cortexscore-rebound.invalid/hook")
    set_callback(closed, submission, receiver.url)  # 127.0.0.1:<port>
    cancel(closed, submission)
    rows = deliveries(closed, submission, at_least=MAX_ATTEMPTS)
    time.sleep(1)
    assert receiver.received == []
    assert rows and all(row["status_code"] is None and not row["succeeded"] for row in rows), rows
    assert "internal address 127.0.0.1" in rows[0]["error"]
    assert len(deliveries(closed, submission)) == MAX_ATTEMPTS


def test_a_host_that_does_not_resolve_fails_closed(closed, tmp_path):
    submission = submit(closed, tmp_path, "http://cortexscore-missing.invalid/hook")
    cancel(closed, submission)
    rows = deliveries(closed, submission)
    assert rows and rows[0]["status_code"] is None
    assert rows[0]["error"].startswith("refused:") and "does not resolve" in rows[0]["error"]


def test_one_bad_url_never_stalls_the_other_deliveries(open_platform, receiver, tmp_path):
    """A CRLF URL (stored before uploads refused them) is recorded as a failed attempt up to the maximum; the
    deliveries queued behind it arrive."""
    bad = submit(open_platform, tmp_path, receiver.url)
    set_callback(open_platform, bad, "http://127.0.0.1:9/hook\r\nX-Injected: 1")
    good = [submit(open_platform, tmp_path, receiver.url) for _ in range(2)]
    for submission in [bad, *good]:
        cancel(open_platform, submission)
    deadline = time.monotonic() + 30
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    delivered = {json.loads(body)["data"]["submission_id"] for _headers, body, _status in receiver.received}
    assert delivered == set(good), open_platform.logs()[-3000:]
    rows = deliveries(open_platform, bad, at_least=MAX_ATTEMPTS)
    time.sleep(1.5)
    rows = deliveries(open_platform, bad)
    assert [row["attempt"] for row in rows] == list(range(1, MAX_ATTEMPTS + 1)), rows
    assert all(row["status_code"] is None and row["error"] for row in rows)
