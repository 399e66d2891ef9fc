"""Load test: 50 concurrent clients upload and poll for 60 s on loopback against a real platform.

Every accepted submission must reach a terminal state, and no request may
fail. Results go to bench/results/load.json.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--scorers 2]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import EXAMPLES, start_platform, zip_folder  # noqa: E402

TERMINAL = {"completed", "failed", "cancelled"}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def client_loop(client: httpx.AsyncClient, zip_bytes: bytes, until: float, stats: dict) -> None:
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            response = await client.post("/submissions", files={"file": ("model.zip", zip_bytes, "application/zip")},
                                         data={"benchmarks": "Synthetic2026.IT-pls"})
        except httpx.HTTPError as error:
            stats["errors"].append(f"upload: {type(error).__name__}: {error}")
            continue
        stats["upload_seconds"].append(time.monotonic() - started)
        if response.status_code != 202:
            stats["errors"].append(f"upload: HTTP {response.status_code}: {response.text[:200]}")
            continue
        submission_id = response.json()["id"]
        stats["accepted"].append(submission_id)
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                poll = await client.get(f"/submissions/{submission_id}/scores")
            except httpx.HTTPError as error:
                stats["errors"].append(f"poll: {type(error).__name__}: {error}")
                break
            stats["poll_seconds"].append(time.monotonic() - started)
            if poll.status_code != 200:
                stats["errors"].append(f"poll: HTTP {poll.status_code}")
                break
            if poll.json()["status"] in TERMINAL:
                break
            await asyncio.sleep(0.5)


async def run_load(url: str, zip_bytes: bytes, clients: int, seconds: float) -> dict:
    stats: dict = {"accepted": [], "errors": [], "upload_seconds": [], "poll_seconds": []}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(*(client_loop(client, zip_bytes, until, stats) for _ in range(clients)))
    return stats


def wait_terminal(url: str, ids: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        pending = list(ids)
        while pending and time.monotonic() < deadline:
            for submission_id in list(pending):
                status = client.get(f"/submissions/{submission_id}").json()["status"]
                states[submission_id] = status
                if status in TERMINAL:
                    pending.remove(submission_id)
            time.sleep(2)
    return states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--scorers", type=int, default=2)
    parser.add_argument("--drain-timeout", type=float, default=900)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = zip_folder(EXAMPLES / "synthetic_match_submission" / "synthetic_match", Path(tmp) / "model.zip")
        platform = start_platform(Path(tmp) / "var", scorers=args.scorers)
        try:
            started = time.monotonic()
            stats = asyncio.run(run_load(platform.url, zip_path.read_bytes(), args.clients, args.seconds))
            load_seconds = time.monotonic() - started
            states = wait_terminal(platform.url, stats["accepted"], args.drain_timeout)
            drained_seconds = time.monotonic() - started
        finally:
            platform.stop()
    terminal = sum(state in TERMINAL for state in states.values())
    result = {
        "clients": args.clients, "seconds": args.seconds, "scorers": args.scorers,
        "uploads_accepted": len(stats["accepted"]), "errors": len(stats["errors"]),
        "error_examples": stats["errors"][:10],
        "reached_terminal_state": terminal, "all_terminal": terminal == len(stats["accepted"]),
        "terminal_states": {state: list(states.values()).count(state) for state in set(states.values())},
        "upload_p50_ms": 1000 * percentile(stats["upload_seconds"], 0.5),
        "upload_p99_ms": 1000 * percentile(stats["upload_seconds"], 0.99),
        "poll_requests": len(stats["poll_seconds"]),
        "poll_p50_ms": 1000 * percentile(stats["poll_seconds"], 0.5),
        "poll_p99_ms": 1000 * percentile(stats["poll_seconds"], 0.99),
        "poll_mean_ms": 1000 * statistics.fmean(stats["poll_seconds"]) if stats["poll_seconds"] else None,
        "load_phase_seconds": round(load_seconds, 1), "seconds_until_all_terminal": round(drained_seconds, 1),
    }
    out = ROOT / "bench" / "results" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if result["errors"] or not result["all_terminal"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
