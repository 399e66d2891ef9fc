"""Leaderboard latency: GET / and GET /leaderboard with 1000 public models on 20 benchmarks (issue 14).

The real API process (uvicorn, one worker, SQLite) over a database filled as
the queue fills it; sequential requests from one client, after one warm-up
request per URL (the board is built once per change of the scores, then
served from memory). Also times the first, cold build. Target: p99 < 200 ms.
Writes bench/results/leaderboard.json.

    .venv/bin/python bench/leaderboard.py [--models 1000] [--benchmarks 20] [--requests 200]
"""
from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "shared"), str(ROOT / "services"), str(ROOT)]

from bench.api_latency import start  # noqa: E402

REGIONS = ("V1", "V2", "V4", "IT", None)


def populate(database_url: str, models: int, benchmarks: int) -> None:
    from sqlalchemy import insert

    from submission_api.core.db import make_engine, migrate
    from submission_api.core.models import Job, ScoreHistory, ScoreRow, Submission

    engine = make_engine(database_url)
    migrate(engine)
    rng = random.Random(0)
    names = [(f"Bench{index:02d}.{REGIONS[index % 5] or 'behavior'}", REGIONS[index % 5]) for index in range(benchmarks)]
    start_at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    submissions, jobs, scores = [], [], []
    job_id = 0
    for index in range(models):
        sid, model = secrets.token_hex(8), f"model-{index:04d}"
        created = start_at + timedelta(hours=index)
        submissions.append({"id": sid, "created_at": created, "status": "completed", "public": True, "hidden": False,
                            "layout": "tutorial", "zip_key": "k", "zip_sha256": "0" * 64, "zip_size": 1,
                            "models": [model], "benchmarks": [name for name, _ in names],
                            "model_cards": {model: {"architecture": rng.choice(["CNN", "ViT", "RNN"]),
                                                    "parameter_count": rng.randint(10**5, 10**9)}},
                            "webhook_attempts": 0, "filename": "x.zip"})
        for name, region in names:
            job_id += 1
            failed = rng.random() < 0.03
            jobs.append({"id": job_id, "submission_id": sid, "model": model, "benchmark": name, "benchmark_version": 1,
                         "region": region, "kind": "behavior" if region is None else "neural", "leaderboard": True,
                         "status": "failed" if failed else "succeeded", "attempts": 1, "not_before": created,
                         "created_at": created, "started_at": created, "finished_at": created + timedelta(minutes=2),
                         "log": ""})
            if not failed:
                ceiled = rng.random()
                scores.append({"submission_id": sid, "job_id": job_id, "model": model, "benchmark": name,
                               "benchmark_version": 1, "region": region, "raw": ceiled * 0.8, "error": 0.02,
                               "ceiling": 0.8, "ceiling_error": 0.01, "ceiled": ceiled, "layer": "conv1",
                               "provenance": {"layer_scores": {"conv1": ceiled}}, "created_at": created})
    with engine.begin() as connection:
        connection.execute(insert(Submission), submissions)
        connection.execute(insert(Job), jobs)
        connection.execute(insert(ScoreRow), scores)
        connection.execute(insert(ScoreHistory), [{**{key: score[key] for key in (
            "submission_id", "job_id", "model", "benchmark", "benchmark_version", "region", "raw", "error", "ceiling",
            "ceiled")}, "recorded_at": score["created_at"]} for score in scores])
    engine.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--benchmarks", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "leaderboard.json")
    args = parser.parse_args()
    from tests.conftest import free_port

    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        database_url = f"sqlite:///{var / 'bench.db'}"
        populate(database_url, args.models, args.benchmarks)
        port = free_port()
        env = {"PORT": str(port), "API_VAR_DIR": str(var), "API_DATABASE_URL": database_url,
               "API_STORE_URL": "http://127.0.0.1:9", "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT / 'services'}",
               "API_WORKER_TOKEN": "bench-worker-token-0123456789abcdef"}
        api = start([sys.executable, "-m", "submission_api"], env, port, var / "api.log")
        base = f"http://127.0.0.1:{port}"
        urls = {"page": "/", "json": "/leaderboard",
                "page_weighted": "/?w=Bench00.V1:3,Bench03.IT:0.5&architecture=CNN",
                "json_weighted": "/leaderboard?w=Bench00.V1:3&benchmarks=" + ",".join(
                    f"Bench{index:02d}.{REGIONS[index % 5] or 'behavior'}" for index in range(0, args.benchmarks, 2)),
                "csv": "/leaderboard.csv"}
        results = {}
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                for name, url in urls.items():
                    began = time.perf_counter()
                    response = client.get(url)
                    response.raise_for_status()
                    cold = (time.perf_counter() - began) * 1000
                    latencies = []
                    for _ in range(args.requests):
                        began = time.perf_counter()
                        client.get(url).raise_for_status()
                        latencies.append((time.perf_counter() - began) * 1000)
                    results[name] = {"url": url, "bytes": len(response.content), "first_ms": round(cold, 1),
                                     "p50_ms": round(statistics.median(latencies), 1),
                                     "p99_ms": round(percentile(latencies, 99), 1),
                                     "max_ms": round(max(latencies), 1)}
                    print(name, results[name], flush=True)
        finally:
            api.terminate()
            api.wait(10)
    body = {"setup": {"models": args.models, "benchmarks": args.benchmarks, "requests": args.requests,
                      "database": "sqlite", "target_p99_ms": 200},
            **results, "p99_ms_max": max(result["p99_ms"] for result in results.values()),
            "ok": all(result["p99_ms"] < 200 for result in results.values())}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(body, indent=2) + "\n")
    print(json.dumps({"p99_ms_max": body["p99_ms_max"], "ok": body["ok"]}))


if __name__ == "__main__":
    main()
