"""Queue throughput with 1, 2 and 4 scorers, on jobs whose cost is model time (not named queue.py: that
would shadow the standard library's queue module for every script in bench/).

Two measurements on the real platform (store + API on a throwaway PostgreSQL):

- ``protocol``: scorers that speak the job protocol over HTTP (claim, then
  "run the model" by sleeping ``--model-seconds``, then complete). This is
  what the queue itself allows: claims with FOR UPDATE SKIP LOCKED, nothing
  shared between scorers but the API.
- ``real``: real scorer processes running a tiny model whose forward pass
  sleeps, so a job's cost is mostly model time; the rest (sandbox start-up,
  torch import, scoring) is CPU work that competes for the machine's cores.

Writes bench/results/queue_throughput.json.

    .venv/bin/python bench/queue_throughput.py [--jobs 24] [--model-seconds 0.5] [--real-jobs 6] [--scorers 1 2 4]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.processes import ThrowawayPostgres, create_database  # noqa: E402
from tests.conftest import start_platform  # noqa: E402
from tests.zips import tutorial_files, write_zip  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "queue_throughput.json"
BENCHMARK = "Synthetic2026.IT-pls"
WORKER_TOKEN = "queue-bench-worker-token-0123456789"
WORKER = {"Authorization": f"Bearer {WORKER_TOKEN}"}
SCORE = {"raw": 0.5, "error": 0.01, "ceiling": 0.8, "ceiling_error": 0.02, "ceiled": 0.3125,
         "convention": "r2_over_ceiling", "layer": "conv1", "region": "IT"}

# The forward pass sleeps: 400 stimuli in batches of 64 make 7 batches, about 7 x SECONDS of model time.
SLEEPY_MODEL = '''
import functools
import time

import torch
from model_tools.activations.pytorch import PytorchWrapper, load_preprocess_images


class Sleepy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 5, stride=2)
        self.pool = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten())

    def forward(self, images):
        time.sleep({seconds})
        return self.pool(self.conv(images))


activations_model = PytorchWrapper(identifier="sleepy-{index}", model=Sleepy(),
                                   preprocessing=functools.partial(load_preprocess_images, image_size=32))


def get_model_list():
    return ["sleepy-{index}"]


def get_model(name):
    return activations_model


def get_layers(name):
    return ["pool"]


def get_bibtex(name):
    return ""
'''


def submit(client: httpx.Client, path: Path) -> str:
    with open(path, "rb") as handle:
        response = client.post("/submissions", files={"file": (path.name, handle, "application/zip")},
                               data={"benchmarks": BENCHMARK})
    response.raise_for_status()
    return response.json()["id"]


def protocol_scorer(url: str, name: str, model_seconds: float, done: list) -> None:
    with httpx.Client(base_url=url, headers=WORKER, timeout=60) as client:
        while True:
            response = client.post("/internal/jobs/claim", json={"worker_id": name})
            if response.status_code == 204:
                return
            lease = response.json()
            time.sleep(model_seconds)
            client.post(f"/internal/jobs/{lease['job_id']}/complete",
                        json={"lease_token": lease["lease_token"], "score": SCORE}).raise_for_status()
            done.append(lease["job_id"])


def run_protocol(platform, tmp: Path, jobs: int, scorers: int, model_seconds: float) -> dict:
    with platform.client() as client:
        for index in range(jobs):
            submit(client, write_zip(tmp / f"trivial-{scorers}-{index}.zip", tutorial_files()))
    done: list[int] = []
    started = time.perf_counter()
    threads = [threading.Thread(target=protocol_scorer, args=(platform.url, f"bench-{i}", model_seconds, done))
               for i in range(scorers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    assert len(done) == len(set(done)) == jobs, f"{len(done)} completions for {jobs} jobs"
    return {"jobs": jobs, "seconds": seconds, "jobs_per_second": jobs / seconds}


def run_real(var: Path, database_url: str, jobs: int, scorers: int, model_seconds: float) -> dict:
    platform = start_platform(var, scorers=scorers, API_DATABASE_URL=database_url, STORE_INGEST="false",
                              SCORER_POLL_SECONDS="0.5")
    try:
        with platform.client() as client:
            zips = [write_zip(var / f"sleepy-{index}.zip", {
                f"sleepy_{index}/__init__.py": "\n", f"sleepy_{index}/models/__init__.py": "\n",
                f"sleepy_{index}/setup.py": "from setuptools import setup\nsetup(name='sleepy')\n",
                f"sleepy_{index}/models/base_models.py": SLEEPY_MODEL.replace("{seconds}", str(model_seconds))
                .replace("{index}", str(index))}) for index in range(jobs)]
            started = time.perf_counter()
            ids = [submit(client, path) for path in zips]
            for submission_id in ids:
                body = platform.wait_for(submission_id, timeout=1800)
                assert body["status"] == "completed", body
        seconds = time.perf_counter() - started
    finally:
        platform.stop()
    return {"jobs": jobs, "seconds": seconds, "jobs_per_second": jobs / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--model-seconds", type=float, default=0.5, help="per job, protocol scorers")
    parser.add_argument("--real-jobs", type=int, default=6, help="0 skips the real scorers")
    parser.add_argument("--real-batch-seconds", type=float, default=1.0, help="sleep per batch of 64 images")
    parser.add_argument("--scorers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    results = {"setup": {"cpus": os.cpu_count(), "database": "PostgreSQL (throwaway)", **vars(args)}}
    with tempfile.TemporaryDirectory() as tmp, ThrowawayPostgres() as postgres:
        tmp = Path(tmp)
        platform = start_platform(tmp / "protocol", scorers=0, STORE_INGEST="false", API_WORKER_TOKEN=WORKER_TOKEN,
                                  API_DATABASE_URL=create_database(postgres.url, "protocol"))
        try:
            results["protocol"] = {str(n): run_protocol(platform, tmp, args.jobs, n, args.model_seconds)
                                   for n in args.scorers}
        finally:
            platform.stop()
        if args.real_jobs:
            results["real"] = {str(n): run_real(tmp / f"real-{n}", create_database(postgres.url, f"real{n}"),
                                                args.real_jobs, n, args.real_batch_seconds) for n in args.scorers}
    for kind in ("protocol", "real"):
        if kind in results and "1" in results[kind]:
            single = results[kind]["1"]["jobs_per_second"]
            for measurement in results[kind].values():
                measurement["speedup_over_1"] = measurement["jobs_per_second"] / single
            print(kind, {n: round(m["speedup_over_1"], 2) for n, m in results[kind].items()}, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
