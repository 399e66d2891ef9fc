"""Issue 15, part 2: `make run` restarts a crashed API or store, as it does scorers, instead of stopping."""
import os
import signal
import time
from pathlib import Path

import httpx

from tests.conftest import start_platform


def child(parent: int, module: str) -> int:
    """The pid of the child of ``parent`` running ``python -m module``."""
    for task in Path(f"/proc/{parent}/task").iterdir():
        for pid in (task / "children").read_text().split():
            if module in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                return int(pid)
    raise AssertionError(f"no {module} child of {parent}")


def wait_for_new(platform, module: str, old: int, url: str, timeout=120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert platform.process.poll() is None, "the platform stopped:\n" + platform.logs()[-3000:]
        try:
            pid = child(platform.process.pid, module)
            if pid != old and httpx.get(url, timeout=2).status_code == 200:
                return pid
        except (AssertionError, httpx.HTTPError, FileNotFoundError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{module} was not restarted within {timeout}s:\n" + platform.logs()[-3000:])


def test_a_killed_api_and_store_are_restarted(tmp_path):
    platform = start_platform(tmp_path / "var", scorers=0)
    try:
        # The API answers before the launcher has finished starting everything; a crash before then stops it.
        deadline = time.monotonic() + 60
        while "[platform] ready" not in platform.logs():
            assert time.monotonic() < deadline, platform.logs()[-3000:]
            time.sleep(0.2)
        api = child(platform.process.pid, "submission_api")
        os.kill(api, signal.SIGKILL)
        wait_for_new(platform, "submission_api", api, f"{platform.url}/healthz")
        assert "api exited with code -9" in platform.logs() and "restarting it" in platform.logs()
        store = child(platform.process.pid, "benchmark_store")
        os.kill(store, signal.SIGKILL)
        wait_for_new(platform, "benchmark_store", store, f"{platform.store_url}/healthz")
        assert httpx.get(f"{platform.url}/benchmarks", timeout=30).status_code == 200
    finally:
        platform.stop()
