"""Peak memory of the scorer and of the sandboxed model for one very wide layer, against the code on ``main`` (issue 16).

A synthetic model whose one candidate layer, ``wide``, has ``--features`` features (a small conv's 320
outputs tiled and scaled by a per-feature ramp: cheap to compute) is scored on the synthetic IT benchmark
of ``--stimuli`` stimuli (``STORE_SYNTHETIC_STIMULI``) on a real platform with one scorer, upload to
``completed``. Measured per run:

- ``scorer_peak_mib``: the scorer process's VmHWM (it scores in that process);
- ``child_peak_mib``: the highest VmHWM of the sandboxed model's processes, sampled every 0.2 s from /proc
  (the last 0.2 s before it exits can be missed); ``child_self_peak_mib``: the child's own VmHWM, which it
  logs (this branch only); ``cgroup_peak_mib``: the job cgroup's peak (page cache included), where there is one;
- ``wall_seconds``: upload to ``completed``, with the child's forward passes and the scoring from the job log.

``main`` runs from ``git archive main`` with only the synthetic benchmark's size setting laid over it
(``shared/cortexscore/benchmarks/synthetic.py`` and ``services/benchmark_store``), so the model, data and
scoring code are main's. It runs at ``--main-features`` (200k and 1M by default): at 2M features main holds
the 5 GB layer whole in the child and about twice that in the scorer, more than this shared 23 GB machine
can give; this branch runs at those widths too, so the two sides meet there.

    .venv/bin/python bench/wide_layer.py [--features 2000000] [--main-features 200000 1000000] [--stimuli 640]
                                         [--no-main]

Writes bench/results/wide_layer.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "services"))

from tests.conftest import start_platform  # noqa: E402
from tests.scorer.test_sandbox_attacks import scorer_pids  # noqa: E402
from tests.zips import tutorial_files, wide_model_source, write_zip  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "wide_layer.json"
OVERLAY = ["shared/cortexscore/benchmarks/synthetic.py", "services/benchmark_store/synthetic.py",
           "services/benchmark_store/config.py", "services/benchmark_store/main.py"]


def peak_mib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) >> 10
    except OSError:
        return None
    return None


def descends_from(pid: int, ancestor: int) -> bool:
    for _ in range(12):
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
    return False


class ChildSampler(threading.Thread):
    """The highest VmHWM of any process under the scorer (the sandbox's bwrap and the model), every 0.2 s."""

    def __init__(self, scorer_pid: int):
        super().__init__(daemon=True)
        self.scorer_pid, self.peak, self._done = scorer_pid, 0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            for name in os.listdir("/proc"):
                if name.isdigit() and descends_from(int(name), self.scorer_pid):
                    self.peak = max(self.peak, peak_mib(int(name)) or 0)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def main_tree() -> Path:
    """``main`` as committed, with the synthetic benchmark's size setting of this branch laid over it.

    Not under /tmp: the sandbox binds the platform's packages where they lie, and /tmp is its own."""
    tree = Path(tempfile.mkdtemp(prefix=".main-", dir=ROOT / "bench"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "main"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    for path in OVERLAY:
        shutil.copyfile(ROOT / path, tree / path)
    return tree


def run(tree: Path, features: int, stimuli: int, tmp: Path, label: str) -> dict:
    from cortexscore.benchmarks import synthetic

    benchmark = synthetic.names(stimuli)[0]
    var = tmp / f"var-{label}"
    platform = start_platform(var, STORE_SYNTHETIC_STIMULI=str(stimuli),
                              PYTHONPATH=f"{tree / 'shared'}:{tree / 'services'}")
    try:
        deadline = time.monotonic() + 120
        while not scorer_pids(platform) and time.monotonic() < deadline:  # it starts after the API answers
            time.sleep(0.5)
        [scorer_pid] = scorer_pids(platform)
        sampler = ChildSampler(scorer_pid)
        sampler.start()
        path = write_zip(tmp / f"{label}.zip", tutorial_files(root=f"wide_{label}", **{
            "models/base_models.py": wide_model_source(f"wide_{label}", features)}))
        started = time.perf_counter()
        with platform.client() as client, open(path, "rb") as handle:
            created = client.post("/submissions", files={"file": handle}, data={"benchmarks": benchmark}).json()
        body = platform.wait_for(created["id"], timeout=3600)
        wall = time.perf_counter() - started
        child_peak = sampler.stop()
        scorer_peak = peak_mib(scorer_pid)
        with platform.client() as client:
            log = client.get(f"/submissions/{created['id']}/logs",
                             headers={"X-Owner-Secret": created["owner_secret"]}).json()["log"]
    finally:
        platform.stop()
        shutil.rmtree(var, ignore_errors=True)
    [score] = body["scores"]

    def found(pattern: str, kind=float):
        match = re.search(pattern, log)
        return kind(match.group(1)) if match else None

    return {
        "code": label.split("-")[0], "features": features, "stimuli": stimuli, "status": score["status"],
        "layer_gib": round(features * stimuli * 4 / 2**30, 2), "wall_seconds": round(wall, 1),
        "forward_seconds": found(r"images through \d+ layers in ([\d.]+)s"),
        "scorer_peak_mib": scorer_peak, "child_peak_mib": child_peak,
        "child_self_peak_mib": found(r"peak resident memory (\d+) MiB", int),
        "cgroup_peak_mib": found(r"peak memory of the model's processes: (\d+) MiB", int),
        "ceiled": score.get("ceiled"), "raw": score.get("raw"), "device": (score.get("provenance") or {}).get("device"),
        "message": score.get("message"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", type=int, default=2_000_000)
    parser.add_argument("--main-features", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--stimuli", type=int, default=640)
    parser.add_argument("--no-main", action="store_true", help="only this branch")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="wide-layer-") as name:
        tmp = Path(name)
        plan = [(ROOT, args.features, "stream-wide")] + [(ROOT, features, f"stream-{features}")
                                                          for features in args.main_features]
        if not args.no_main:
            tree = main_tree()
            plan += [(tree, features, f"main-{features}") for features in args.main_features]
        try:
            for tree, features, label in plan:
                runs.append(run(tree, features, args.stimuli, tmp, label))
                print(json.dumps(runs[-1]), flush=True)
        finally:
            for tree in {tree for tree, _, _ in plan} - {ROOT}:
                shutil.rmtree(tree, ignore_errors=True)
    result = {"benchmark": f"synthetic IT, {args.stimuli} stimuli", "model": "one layer: a conv's 320 outputs tiled",
              "load_average": [round(value, 2) for value in os.getloadavg()], "runs": runs,
              "target_peak_mib": 2048}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
