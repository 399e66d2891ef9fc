"""Upload throughput and the API's peak memory growth for a 200 MB submission zip.

A valid tutorial-layout zip carrying a 200 MB weights file (random bytes,
stored uncompressed) goes to the real API (``POST /submissions``) on
loopback. A sampler reads the API process's resident set size every 5 ms;
growth is its peak during the upload minus its size just before. Target:
under 64 MB. Writes bench/results/upload.json.

    .venv/bin/python bench/upload.py [--megabytes 200]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import start_platform  # noqa: E402
from tests.zips import tutorial_files  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "upload.json"
BENCHMARK = "Synthetic2026.IT-pls"


def build_zip(path: Path, megabytes: int) -> Path:
    """The tutorial layout plus ``weights.bin`` of random bytes, written chunk by chunk."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in tutorial_files(root="big_submission").items():
            archive.writestr(name, content)
        info = zipfile.ZipInfo("big_submission/models/weights.bin")
        info.compress_type = zipfile.ZIP_STORED
        with archive.open(info, "w", force_zip64=True) as weights:
            for _ in range(megabytes):
                weights.write(os.urandom(1 << 20))
    return path


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def api_pid(launcher_pid: int) -> int:
    """The submission API among the launcher's children."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if parent == launcher_pid and b"submission_api" in command:
            return int(entry.name)
    raise RuntimeError("the submission API process was not found")


def upload(client: httpx.Client, path: Path) -> httpx.Response:
    with open(path, "rb") as handle:
        return client.post("/submissions", files={"file": (path.name, handle, "application/zip")},
                           data={"benchmarks": BENCHMARK})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big = build_zip(tmp / "big.zip", args.megabytes)
        size = big.stat().st_size
        small = build_zip(tmp / "small.zip", 1)
        platform = start_platform(tmp / "platform", scorers=0, STORE_INGEST="false")
        try:
            pid = api_pid(platform.process.pid)
            with httpx.Client(base_url=platform.url, timeout=600) as client:
                assert upload(client, small).status_code == 202  # warm-up: every code path imported once
                time.sleep(1)
                baseline = rss_bytes(pid)
                peak, sampling = baseline, True

                def sample() -> None:
                    nonlocal peak
                    while sampling:
                        peak = max(peak, rss_bytes(pid))
                        time.sleep(0.005)

                sampler = threading.Thread(target=sample)
                sampler.start()
                started = time.perf_counter()
                response = upload(client, big)
                seconds = time.perf_counter() - started
                sampling = False
                sampler.join()
            assert response.status_code == 202, response.text
        finally:
            platform.stop()
    results = {"zip_bytes": size, "seconds": seconds, "megabytes_per_second": size / seconds / 1e6,
               "rss_before_bytes": baseline, "rss_peak_bytes": peak, "peak_growth_bytes": peak - baseline,
               "peak_growth_megabytes": (peak - baseline) / 2**20,
               "meets_target": (peak - baseline) < 64 * 2**20, "cpus": os.cpu_count(),
               "note": "loopback; the API stores the zip on the filesystem object store, SQLite database"}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
