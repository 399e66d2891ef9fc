"""The API killed while uploads are in flight: after a restart no half-written submission is visible,
every accepted upload is intact, and the leftovers of the cut-short uploads are gone."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx

from tests.conftest import free_port
from tests.zips import tutorial_files, write_zip


WORKER_TOKEN = {"API_WORKER_TOKEN": "crash-test-worker-token-0123456789",
                "STORE_WORKER_TOKEN": "crash-test-worker-token-0123456789"}


def start(module: str, env: dict, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module], env={**os.environ, **WORKER_TOKEN, **env}, stdout=log,
                            stderr=subprocess.STDOUT)


def wait_healthy(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not start")


def slow_body(data: bytes, boundary: str, pause: threading.Event):
    """A multipart body sent in small pieces, pausing halfway until told to go on."""
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.zip\"\r\n"
            "Content-Type: application/zip\r\n\r\n").encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    half = len(body) // 2
    yield body[:half]
    pause.wait(30)
    yield body[half:]


def test_api_killed_mid_upload_leaves_nothing_half_written(tmp_path):
    var = tmp_path / "var"
    store_port, api_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    log = open(tmp_path / "services.log", "wb")
    store = start("benchmark_store", {"STORE_PORT": str(store_port), "STORE_VAR_DIR": str(var),
                                      "STORE_INGEST": "false"}, log)
    api_env = {"PORT": str(api_port), "API_VAR_DIR": str(var), "API_STORE_URL": f"http://127.0.0.1:{store_port}",
               "API_LEFTOVER_SECONDS": "0"}
    api = start("submission_api", api_env, log)
    try:
        wait_healthy(f"http://127.0.0.1:{store_port}")
        wait_healthy(api_url)
        zip_bytes = write_zip(tmp_path / "ok.zip", tutorial_files()).read_bytes()
        accepted = []
        for _ in range(3):
            response = httpx.post(f"{api_url}/submissions", files={"file": ("ok.zip", zip_bytes)},
                                  data={"benchmarks": "Synthetic2026.IT-pls"})
            assert response.status_code == 202
            accepted.append(response.json()["id"])
        # Several uploads stop halfway; the API is killed while they wait.
        pause = threading.Event()
        boundary = "crashboundary"
        outcomes = []

        def upload() -> None:
            try:
                outcomes.append(httpx.post(f"{api_url}/submissions", content=slow_body(zip_bytes, boundary, pause),
                                           headers={"content-type": f"multipart/form-data; boundary={boundary}"},
                                           timeout=30).status_code)
            except httpx.HTTPError as error:
                outcomes.append(type(error).__name__)

        threads = [threading.Thread(target=upload) for _ in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(list((var / "tmp").glob("*.upload"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list((var / "tmp").glob("*.upload"))) == 4, "the uploads did not reach the server"
        api.send_signal(signal.SIGKILL)
        api.wait()
        pause.set()
        for thread in threads:
            thread.join()
        assert all(outcome != 202 for outcome in outcomes), outcomes
        api = start("submission_api", api_env, log)
        wait_healthy(api_url)
        assert list((var / "tmp").glob("*.upload")) == [], "temporary files of cut-short uploads were kept"
        with sqlite3.connect(var / "cortexscore.db") as db:
            rows = db.execute("SELECT id, zip_key FROM submissions").fetchall()
            jobs = dict(db.execute("SELECT submission_id, count(*) FROM jobs GROUP BY submission_id").fetchall())
        assert sorted(row[0] for row in rows) == sorted(accepted)
        stored = sorted(path.relative_to(var / "objects").as_posix()
                        for path in (var / "objects" / "submissions").glob("*.zip"))
        assert stored == sorted(row[1] for row in rows)
        assert all(jobs[submission_id] == 1 for submission_id in accepted)
        for submission_id in accepted:
            assert httpx.get(f"{api_url}/submissions/{submission_id}").json()["status"] == "queued"
    finally:
        for process in (api, store):
            process.terminate()
            process.wait(10)
