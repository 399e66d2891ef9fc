"""Poll latency: GET /submissions/{id}/scores under 64 concurrent pollers, 10k submissions in the database.

The real API process (uvicorn, one worker) on SQLite and on a throwaway
PostgreSQL, side by side with a bare FastAPI route that returns the same JSON
from memory: the difference is what the database, the ORM and validation cost.
Each poller asks for a random submission, waits ``--interval`` seconds, and
asks again: twice as often as ``cortexscore submit --wait`` (every 2 s). Writes bench/results/api_latency.json.

    .venv/bin/python bench/api_latency.py [--submissions 10000] [--pollers 64] [--seconds 20] [--interval 1.0]

For diagnosis, ``--databases sqlite`` skips PostgreSQL (the results file is
then left alone unless ``--output`` names one) and ``--trace DIR`` keeps each
request's start time and latency, and the API's log, in DIR.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.processes import ThrowawayPostgres, create_database, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "api_latency.json"
BENCHMARKS = ("Bench2026.V1-pls", "Bench2026.IT-pls")

BARE_APP = """
import json, sys
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response
body = open(sys.argv[2], "rb").read()
app = FastAPI()
@app.get("/submissions/{submission_id}/scores")
def scores(submission_id: str):
    return Response(body, media_type="application/json")
@app.get("/healthz")
def healthz():
    return {"status": "ok"}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def populate(url: str, count: int) -> list[str]:
    """``count`` finished submissions, each with one model scored on two benchmarks, as the API stores them."""
    from sqlalchemy import insert

    from submission_api.core.db import make_engine, migrate
    from submission_api.core.models import Job, ScoreRow, Submission

    engine = make_engine(url)
    migrate(engine)
    now = datetime.now(timezone.utc)
    ids = [f"bench{index:08d}xxxxxxxxxxxx" for index in range(count)]
    log = "[platform] attempt 1 claimed by scorer-1\n" + "[model] activations 400/400 images\n" * 40
    provenance = {"benchmark_version": 1, "metric": "pls", "layer_scores": {"conv1": 0.41, "relu1": 0.44},
                  "seeds": [0], "cortexscore_version": "0.1.0"}
    with engine.begin() as connection:
        for start in range(0, count, 1000):
            batch = ids[start:start + 1000]
            connection.execute(insert(Submission), [dict(
                id=i, created_at=now, status="completed", public=True, filename="model.zip", layout="tutorial",
                zip_key=f"submissions/{i}.zip", zip_sha256="0" * 64, zip_size=1000, models=["bench-model"],
                benchmarks=list(BENCHMARKS)) for i in batch])
            jobs = [dict(submission_id=i, model="bench-model", benchmark=b, benchmark_version=1,
                         region=b.split(".")[1].split("-")[0], kind="neural", leaderboard=True, status="succeeded",
                         attempts=1, created_at=now, not_before=now, started_at=now,
                         finished_at=now + timedelta(seconds=30), log=log) for i in batch for b in BENCHMARKS]
            job_ids = connection.execute(insert(Job).returning(Job.id, sort_by_parameter_order=True), jobs).scalars()
            connection.execute(insert(ScoreRow), [dict(
                submission_id=job["submission_id"], job_id=job_id, model="bench-model", benchmark=job["benchmark"],
                benchmark_version=1, region=job["region"], raw=0.5, error=0.01, ceiling=0.8, ceiling_error=0.02,
                ceiled=0.3125, convention="r2_over_ceiling", layer="conv1", provenance=provenance, created_at=now)
                for job, job_id in zip(jobs, job_ids)])
    engine.dispose()
    return ids


def start(command: list[str], env: dict, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=open(log, "wb"),
                               stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{command} did not answer within 120 s")


def start_api(var: Path, database_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {"PORT": str(port), "API_VAR_DIR": str(var), "API_DATABASE_URL": database_url,
           "API_STORE_URL": "http://127.0.0.1:9", "API_WORKER_TOKEN": "bench-worker-token-0123456789abcdef"}
    return start([sys.executable, "-m", "submission_api"], env, port, var / "api.log"), f"http://127.0.0.1:{port}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def poll(url: str, ids: list[str], pollers: int, seconds: float, interval: float,
               trace: list | None = None) -> dict:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=pollers, max_keepalive_connections=pollers)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def poller(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            await asyncio.sleep(rng.uniform(0, interval))  # spread the first requests over one interval
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await client.get(f"/submissions/{rng.choice(ids)}/scores")
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    errors += 1
                elif time.monotonic() > measure_from:
                    latencies.append(elapsed)
                    if trace is not None:
                        trace.append((started - trace_zero, elapsed))
                await asyncio.sleep(interval)

        trace_zero = time.perf_counter()
        measure_from = time.monotonic() + 3  # warm-up: connections, caches, the ORM's statement cache
        stop = measure_from + seconds
        await asyncio.gather(*(poller(seed) for seed in range(pollers)))
    return {"requests": len(latencies), "errors": errors, "requests_per_second": len(latencies) / seconds,
            "p50_ms": 1000 * percentile(latencies, 50), "p99_ms": 1000 * percentile(latencies, 99),
            "max_ms": 1000 * max(latencies)}


def measure(name: str, url: str, ids: list[str], args) -> dict:
    trace = [] if args.trace else None
    result = asyncio.run(poll(url, ids, args.pollers, args.seconds, args.interval, trace))
    if args.trace:
        (args.trace / f"{name}.json").write_text(json.dumps(trace))
    print(f"{name:>9}: p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  "
          f"({result['requests']} requests, {result['errors']} errors)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--pollers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--databases", default="sqlite,postgres",
                        help="comma-separated subset of sqlite,postgres (diagnosis; the bare route always runs)")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"results file (default {RESULTS.relative_to(ROOT)} when both databases run)")
    parser.add_argument("--trace", type=Path, default=None,
                        help="directory for per-request (start, latency) traces and the API logs")
    args = parser.parse_args()
    wanted = [name for name in args.databases.split(",") if name]
    if not set(wanted) <= {"sqlite", "postgres"} or not wanted:
        parser.error("--databases takes sqlite, postgres or both")
    output = args.output or (RESULTS if set(wanted) == {"sqlite", "postgres"} else None)
    if args.trace:
        args.trace.mkdir(parents=True, exist_ok=True)
    results = {"setup": {"submissions": args.submissions, "pollers": args.pollers, "seconds": args.seconds,
                         "poll_interval_seconds": args.interval, "cpus": os.cpu_count(),
                         "server": "uvicorn, 1 worker, loopback"}}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        Path(tmp, "sqlite").mkdir()
        databases = {}
        if "sqlite" in wanted:
            databases["sqlite"] = f"sqlite:///{tmp}/sqlite/cortexscore.db"
        if "postgres" in wanted:
            databases["postgres"] = create_database(stack.enter_context(ThrowawayPostgres()).url, "bench")
        for name, database_url in databases.items():
            ids = populate(database_url, args.submissions)
            (Path(tmp) / name).mkdir(exist_ok=True)
            api, url = start_api(Path(tmp) / name, database_url)
            try:
                body = httpx.get(f"{url}/submissions/{ids[0]}/scores").content
                results[name] = measure(name, url, ids, args)
            finally:
                api.terminate()
                api.wait(10)
                if args.trace:
                    shutil.copy(Path(tmp) / name / "api.log", args.trace / f"{name}-api.log")
        Path(tmp, "body.json").write_bytes(body)
        port = free_port()
        bare = start([sys.executable, "-c", BARE_APP, str(port), str(Path(tmp, "body.json"))], {}, port,
                     Path(tmp, "bare.log"))
        try:
            results["bare"] = measure("bare", f"http://127.0.0.1:{port}", ids, args)
        finally:
            bare.terminate()
            bare.wait(10)
    results["response_bytes"] = len(body)
    for name in databases:
        results[name]["p99_over_bare"] = results[name]["p99_ms"] / results["bare"]["p99_ms"]
        results[name]["meets_target"] = results[name]["p99_over_bare"] <= 3 and results[name]["p99_ms"] < 50
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
