"""Hostile models end as failed scores whose message names the cause, and the scorer goes on to the next job."""
from __future__ import annotations

import os
import socket
import threading
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, start_platform
from tests.zips import tiny_model_source, tutorial_files, write_zip

TOKEN = "sandbox-test-secret-token-0123456789"
ESCAPE_FILE = ROOT / "var-sandbox-escape.txt"

HOOKS = {
    "socket": ("import socket\n"
               "connection = socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
               "connection.sendall(b'stolen activations')\n",
               ["Network is unreachable", "Connection refused"]),
    "environ": ("import glob\n"
                "found = [open(path, 'rb').read().decode(errors='replace') for path in glob.glob('/proc/*/environ')]\n"
                "raise RuntimeError('ENVIRON ' + ' | '.join(found))\n",
                ["ENVIRON"]),
    "write": (f"open({str(ESCAPE_FILE)!r}, 'w').write('escaped')\n", ["Read-only file system"]),
    "fork_bomb": ("import os\nwhile True:\n    os.fork()\n", ["Resource temporarily unavailable"]),
    "allocate_64gb": ("block = bytearray(64 << 30)\n", ["MemoryError"]),
    "sleep_forever": ("import time\ntime.sleep(10 ** 9)\n", ["longer than the limit"]),
    "exit_mid_forward": ("import os\nos._exit(7)\n", ["exited with code 7"]),
}


def hostile_zip(tmp_path: Path, name: str, port: int) -> Path:
    code, _ = HOOKS[name]
    source = tiny_model_source("hostile", forward_hook=code.format(port=port))
    files = tutorial_files(root=f"hostile_{name}", **{"models/base_models.py": source})
    return write_zip(tmp_path / f"{name}.zip", files)


@pytest.fixture
def listener():
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            received.append(connection.recv(1024) or b"<connected>")
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join()
    server.close()


def test_hostile_models_fail_with_named_causes_and_the_scorer_goes_on(tmp_path, listener, custom_model_zip):
    port, received = listener
    platform = start_platform(tmp_path / "var", scorers=1, SCORER_RUN_TIMEOUT_SECONDS="40", SCORER_MAX_PROCESSES="64",
                              SCORER_IMPORT_TIMEOUT_SECONDS="60", SCORER_MEMORY_LIMIT_BYTES=str(6 << 30),
                              API_WORKER_TOKEN=TOKEN, STORE_WORKER_TOKEN=TOKEN, SCORER_WORKER_TOKEN=TOKEN)
    try:
        submitted = {}
        with platform.client() as client:
            for name in HOOKS:
                with open(hostile_zip(tmp_path, name, port), "rb") as handle:
                    response = client.post("/submissions", files={"file": handle},
                                           data={"benchmarks": "Synthetic2026.IT-pls"})
                assert response.status_code == 202, response.text
                submitted[name] = response.json()["id"]
            with open(custom_model_zip, "rb") as handle:
                good = client.post("/submissions", files={"file": handle},
                                   data={"benchmarks": "Synthetic2026.IT-pls"}).json()["id"]
        for name, submission_id in submitted.items():
            body = platform.wait_for(submission_id, timeout=240)
            [score] = body["scores"]
            assert body["status"] == "failed" and score["status"] == "failed", (name, score)
            assert any(cause in score["message"] for cause in HOOKS[name][1]), (name, score["message"])
            assert TOKEN not in score["message"] and "WORKER_TOKEN" not in score["message"], name
        assert platform.wait_for(good, timeout=240)["status"] == "completed"
    finally:
        platform.stop()
    assert received == [], "a sandboxed model reached the network"
    assert not ESCAPE_FILE.exists(), "a sandboxed model wrote outside its temp dir"
