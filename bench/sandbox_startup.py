"""Benchmark: the model sandbox's start-up cost, an empty model from import to exit, against the previous sandbox.

Both sides run the scorer's own ``run_child`` on the same empty submission (one model, no stimuli),
side by side in one run, alternating, each in a fresh interpreter:

- ``bubblewrap``: this checkout's sandbox (services/scorer/sandbox.py);
- ``previous``: the sandbox of commit ``--baseline`` (default: the last commit before bubblewrap), checked
  out into a temporary git worktree: ``unshare`` namespaces as root, no seccomp, a pids cgroup.

The child imports the platform's model stack (torch) and the submission, then exits; the figure is wall
time from ``run_child``'s call to its return, medians over ``--repeats``. The ratio is bubblewrap / previous.

Usage: .venv/bin/python bench/sandbox_startup.py [--repeats 7] [--baseline 23b4861]
Writes bench/results/sandbox_startup.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.zips import tutorial_files, write_zip  # noqa: E402

EMPTY_MODEL = '''
def get_model_list():
    return ["empty"]


def get_model(name):
    from model_tools.activations.pytorch import PytorchWrapper
    import torch
    return PytorchWrapper(identifier="empty", model=torch.nn.Sequential(torch.nn.Identity()), preprocessing=lambda paths: paths)


def get_layers(name):
    return ["0"]


def get_bibtex(name):
    return ""
'''

# Runs in a fresh interpreter with one checkout's packages first on sys.path; prints the seconds.
DRIVER = '''
import json, sys, tempfile, time
from pathlib import Path
from scorer import sandbox
from scorer.config import ScorerSettings

zip_path, work = sys.argv[1], Path(sys.argv[2])
settings = ScorerSettings(worker_token="bench-worker-token-0123456789", cache_dir=work / "cache",
                          sandbox_dir=work / "sandbox", sandbox_hidden_paths=[work / "cache"])
stimuli = work / "stimuli"
stimuli.mkdir(exist_ok=True)
if hasattr(sandbox, "prepare_job_dir"):
    job = sandbox.prepare_job_dir(settings, "bench")
    (job / "submission.zip").write_bytes(Path(zip_path).read_bytes())
    request = {"zip_path": "/job/submission.zip", "out_dir": "/job", "stimuli_dir": "/job/stimuli"}
else:
    job = work / "job"
    job.mkdir()
    request = {"zip_path": zip_path}
request.update(model="empty", batch_size=64, layer_mode="candidates", stimulus_sets=[])
started = time.perf_counter()
outcome = sandbox.run_child(request, job, stimuli, settings, on_tick=lambda text: None)
print(json.dumps({"seconds": time.perf_counter() - started, "isolation": outcome.isolation}))
'''


def run_once(checkout: Path, zip_path: Path) -> dict:
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "PYTHONPATH": f"{checkout / 'shared'}:{checkout / 'services'}"}
        env.pop("SCORER_WORKER_TOKEN", None)
        finished = subprocess.run([sys.executable, "-c", DRIVER, str(zip_path), work], env=env, capture_output=True,
                                  text=True, timeout=600)
        if finished.returncode != 0:
            raise RuntimeError(f"the sandbox of {checkout} failed:\n{finished.stderr[-3000:]}")
        return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", default="23b4861", help="commit whose sandbox is the baseline")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "sandbox_startup.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        zip_path = write_zip(tmp / "empty.zip", tutorial_files(root="empty", **{"models/base_models.py": EMPTY_MODEL}))
        baseline = tmp / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline],
                       check=True, capture_output=True)
        try:
            sides = {"bubblewrap": ROOT, "previous": baseline}
            runs = {name: [] for name in sides}
            isolation = {}
            run_once(ROOT, zip_path)  # warm the page cache for both sides alike
            for repeat in range(args.repeats):
                for name, checkout in sides.items():
                    outcome = run_once(checkout, zip_path)
                    runs[name].append(outcome["seconds"])
                    isolation[name] = outcome["isolation"]
                print(f"run {repeat + 1}/{args.repeats}: " + ", ".join(f"{name} {values[-1]:.2f}s"
                                                                    for name, values in runs.items()), flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], capture_output=True)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {"bench": "sandbox_startup", "what": "empty model, run_child from call to return (import to exit)",
              "baseline_commit": args.baseline, "repeats": args.repeats,
              "median_seconds": medians, "runs_seconds": runs,
              "ratio_bubblewrap_over_previous": medians["bubblewrap"] / medians["previous"],
              "added_seconds": medians["bubblewrap"] - medians["previous"], "isolation": isolation,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()}}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({key: result[key] for key in ("median_seconds", "ratio_bubblewrap_over_previous")}, indent=2))


if __name__ == "__main__":
    main()
