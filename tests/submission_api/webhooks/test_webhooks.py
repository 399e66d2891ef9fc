"""Completion webhooks: signed, retried after a failure, delivered once, every attempt recorded."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from cortexscore.client import Client, verify_webhook
from tests.submission_api.platforms import scored_platform  # noqa: F401 (fixture)
from tests.zips import tutorial_files, write_zip


class Receiver:
    """A webhook endpoint on loopback that answers each delivery with the next status in ``answers``."""

    def __init__(self, answers):
        self.answers, self.received = list(answers), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.received.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"receiver says %d" % status)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    running = Receiver([500])
    yield running
    running.close()


def test_one_verified_delivery_after_a_500_and_every_attempt_recorded(scored_platform, receiver, tmp_path):
    broken = write_zip(tmp_path / "broken.zip", tutorial_files())  # fails fast: get_model raises
    with Client(scored_platform.url, scored_platform.user_token) as client:
        secret = client.me()["webhook_secret"]
        created = client.submit(broken, benchmarks="Fixture2026.IT-pls", callback_url=receiver.url)
        assert created["webhook_secret"] == secret
        client.wait(created["id"], poll_seconds=0.5, timeout=300)
        deadline = time.monotonic() + 60
        while not any(status == 200 for *_, status in receiver.received) and time.monotonic() < deadline:
            time.sleep(0.2)
        # Give a wrongly repeated delivery the time of several dispatcher polls to show up.
        time.sleep(2)
        deliveries = httpx.get(f"{scored_platform.url}/submissions/{created['id']}/webhooks",
                               headers={"Authorization": f"Bearer {scored_platform.user_token}"}).json()
    assert [status for *_, status in receiver.received] == [500, 200]
    bodies = [verify_webhook(secret, headers, body) for headers, body, _ in receiver.received]
    assert bodies[1]["type"] == "submission.failed"
    assert bodies[1]["data"]["submission_id"] == created["id"]
    assert bodies[1]["data"]["scores"][0]["status"] == "failed"
    assert len({headers["webhook-id"] for headers, *_ in receiver.received}) == 1
    assert [(row["attempt"], row["status_code"], row["succeeded"]) for row in deliveries] == [
        (1, 500, False), (2, 200, True)]
    with pytest.raises(ValueError, match="no signature"):
        verify_webhook("whsec_" + "A" * 32, *receiver.received[1][:2])


def test_a_callback_url_must_be_http(scored_platform, tmp_path):
    broken = write_zip(tmp_path / "broken.zip", tutorial_files())
    with open(broken, "rb") as handle:
        response = httpx.post(f"{scored_platform.url}/submissions", files={"file": ("b.zip", handle)},
                              data={"callback_url": "file:///etc/passwd"})
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "invalid_callback_url"
