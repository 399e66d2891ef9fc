"""GET /submissions/{id}/scores of one big submission: 1000 and 5000 models x 1 benchmark, every job scored.

Issue 15: a 5000-model zip made this poll take 39.6 s (the aggregate walked every job once per model); the
target is under 1 s for 1000 models. The real API process (uvicorn, SQLite) answers over loopback; the rows are
written as the queue writes them. Each size is asked ``--repeats`` times (the first included); a default page
holds every entry (the platform's page size is 5000), and a 500-entry page is timed too. Writes
bench/results/scores_listing.json.

    .venv/bin/python bench/scores_listing.py [--sizes 1000,5000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for package_root in (ROOT / "shared", ROOT / "services"):
    sys.path.insert(0, str(package_root))

from scripts.processes import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "scores_listing.json"
BENCHMARK = "Bench2026.IT-pls"


def populate(url: str, models: int) -> str:
    """One completed submission with ``models`` models, each scored on one leaderboard benchmark."""
    from sqlalchemy import insert

    from submission_api.core.db import make_engine, migrate
    from submission_api.core.models import Job, ScoreRow, Submission, utcnow

    engine = make_engine(url)
    migrate(engine)
    submission_id = f"bench-{models}-models"
    names = [f"model-{index:05d}" for index in range(models)]
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(insert(Submission), [dict(
            id=submission_id, created_at=now, status="completed", public=True, owner_id=None, filename="big.zip",
            layout="tutorial", zip_key=f"submissions/{submission_id}.zip", zip_sha256="0" * 64, zip_size=1,
            models=names, benchmarks=[BENCHMARK], hidden=False, webhook_attempts=0)])
        connection.execute(insert(Job), [dict(
            submission_id=submission_id, model=name, benchmark=BENCHMARK, benchmark_version=1, region="IT",
            kind="neural", leaderboard=True, status="succeeded", attempts=1, not_before=now, created_at=now,
            started_at=now, finished_at=now, log="") for name in names])
        job_ids = dict(connection.execute(Job.__table__.select().with_only_columns(Job.model, Job.id).where(
            Job.submission_id == submission_id)).all())
        connection.execute(insert(ScoreRow), [dict(
            submission_id=submission_id, job_id=job_ids[name], model=name, benchmark=BENCHMARK, benchmark_version=1,
            region="IT", raw=0.5, error=0.01, ceiling=0.8, ceiling_error=0.01, ceiled=0.6, convention="pls",
            layer="conv1", provenance={"layer_scores": {"conv1": 0.5}}, created_at=now) for name in names])
    engine.dispose()
    return submission_id


def timed(client: httpx.Client, path: str, repeats: int, **params) -> tuple[list[float], dict]:
    seconds, body = [], {}
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path, params=params)
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
        body = response.json()
    return seconds, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="bench-scores-"))
    url = f"sqlite:///{var / 'cortexscore.db'}"
    ids = {int(size): populate(url, int(size)) for size in args.sizes.split(",")}
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT / "services")]),
           "PORT": str(port), "API_VAR_DIR": str(var), "API_STORE_URL": f"http://127.0.0.1:{free_port()}",
           "CORTEXSCORE_LOG_FORMAT": "text", "API_WORKER_TOKEN": "bench-worker-token-0123456789abcdef"}
    api = subprocess.Popen([sys.executable, "-m", "submission_api"], env=env, stdout=open(var / "api.log", "wb"),
                           stderr=subprocess.STDOUT)
    results = {"target": "1000 models x 1 benchmark under 1 s", "before_fix": {"5000_models_seconds": 39.6},
               "sizes": {}}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.2)
            for size, submission_id in ids.items():
                path = f"/submissions/{submission_id}/scores"
                full, body = timed(client, path, args.repeats)
                assert len(body["scores"]) == size and body["total"] == size and len(body["aggregate"]) == size
                paged, page = timed(client, path, args.repeats, limit=500)
                assert len(page["scores"]) == 500 and page["next_offset"] == 500
                results["sizes"][str(size)] = {
                    "jobs": size, "response_bytes": len(json.dumps(body)),
                    "full_listing_seconds": {"median": statistics.median(full), "max": max(full), "all": full},
                    "page_of_500_seconds": {"median": statistics.median(paged), "max": max(paged), "all": paged}}
                print(f"{size} models: full listing median {statistics.median(full):.3f} s (max {max(full):.3f}), "
                      f"a page of 500 median {statistics.median(paged):.3f} s", flush=True)
    finally:
        api.terminate()
        api.wait(15)
    results["under_target"] = results["sizes"].get("1000", {}).get("full_listing_seconds", {}).get("max", 99) < 1.0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
