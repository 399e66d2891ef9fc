"""Fixtures that run the real platform: its processes on free loopback ports, with a private var dir."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def zip_folder(folder: Path, out: Path) -> Path:
    """Zip ``folder`` as a user would with `zip -r out.zip folder/`: one root folder inside."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts:
                continue
            archive.write(path, Path(folder.name) / path.relative_to(folder))
    return out


@dataclass
class Platform:
    var: Path
    port: int
    store_port: int
    env: dict
    process: subprocess.Popen | None = None
    scorers: list[subprocess.Popen] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_url(self) -> str:
        return f"http://127.0.0.1:{self.store_port}"

    @property
    def worker_token(self) -> str:
        """The token scorers present: the environment's, or the one `make run` generated under var/."""
        return self.env.get("API_WORKER_TOKEN") or (self.var / "worker-token").read_bytes().hex()

    @property
    def reference_token(self) -> str:
        """The reserved `reference` account's token: the environment's, or the one `make run` wrote under var/."""
        return self.env.get("API_REFERENCE_TOKEN") or (self.var / "reference-token").read_text().strip()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def start_scorer(self, name: str, **env) -> subprocess.Popen:
        scorer_env = {**self.env, "SCORER_API_URL": self.url, "SCORER_STORE_URL": self.store_url,
                      "SCORER_CACHE_DIR": str(self.var / name), "SCORER_WORKER_ID": name,
                      "SCORER_WORKER_TOKEN": self.worker_token,
                      "SCORER_SANDBOX_HIDDEN_PATHS": json.dumps([str(self.var)]), **env}
        log = open(self.var / f"{name}.log", "wb")
        process = subprocess.Popen([sys.executable, "-m", "scorer"], env=scorer_env, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.scorers.append(process)
        return process

    def wait_for(self, submission_id: str, statuses=("completed", "failed", "cancelled"), timeout=300) -> dict:
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                body = client.get(f"/submissions/{submission_id}/scores").json()
                if body["status"] in statuses:
                    return body
                time.sleep(1)
        raise AssertionError(f"submission {submission_id} did not reach {statuses} in {timeout}s: {body}\n"
                             + self.logs())

    def logs(self) -> str:
        return "".join(path.read_text(errors="replace")[-4000:] for path in sorted(self.var.glob("*.log")))

    def stop(self) -> None:
        for process in [*self.scorers, self.process]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.scorers, self.process]:
            if process is not None:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()


def start_platform(var: Path, scorers: int = 1, ingest: bool = False, **env) -> Platform:
    """The platform as ``make run`` starts it; without ``ingest`` only the synthetic benchmarks, which start fast."""
    var.mkdir(parents=True, exist_ok=True)
    platform = Platform(var=var, port=free_port(), store_port=free_port(),
                        env={**os.environ, "PYTHONUNBUFFERED": "1", "STORE_INGEST": "true" if ingest else "false",
                             # Tests never reach the public package index: a closed local port unless a test
                             # starts its own index (tests/scorer/test_environments.py).
                             "SCORER_PACKAGE_INDEX_URL": "http://127.0.0.1:9/simple",

                             # Every test uploads from 127.0.0.1: the anonymous rate limit is lifted unless a
                             # test sets it (tests/submission_api/submissions/test_hostile_users.py does).
                             "API_ANONYMOUS_UPLOADS_PER_WINDOW": "100000", **env})
    platform.log_path = var / "platform.log"
    platform.process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run_platform.py"), "--port", str(platform.port),
         "--store-port", str(platform.store_port), "--var-dir", str(var), "--scorers", str(scorers)],
        env=platform.env, stdout=open(platform.log_path, "wb"), stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if platform.process.poll() is not None:
            raise RuntimeError("the platform exited during start-up:\n" + platform.logs())
        try:
            if httpx.get(f"{platform.url}/healthz", timeout=2).status_code == 200:
                return platform
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    platform.stop()
    raise RuntimeError("the platform did not start within 300s:\n" + platform.logs())


@pytest.fixture(scope="session")
def platform(tmp_path_factory) -> Platform:
    """One platform with one scorer for the whole session."""
    running = start_platform(tmp_path_factory.mktemp("platform"), scorers=1)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def real_platform(tmp_path_factory) -> Platform:
    """A platform that ingests the real datasets from the mirror, as `make run` does where they exist."""
    from cortexscore.ingest import DEFAULT_MIRROR

    if not DEFAULT_MIRROR.is_dir():
        pytest.skip(f"the dataset mirror {DEFAULT_MIRROR} is not on this machine")
    running = start_platform(tmp_path_factory.mktemp("real-platform"), scorers=1, ingest=True)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def custom_model_zip(tmp_path_factory) -> Path:
    """The tutorial's custom MyModel submission, zipped the way a user zips it."""
    folder = EXAMPLES / "custom_model_submission" / "my_custom_submission"
    return zip_folder(folder, tmp_path_factory.mktemp("zips") / "my_custom_submission.zip")
