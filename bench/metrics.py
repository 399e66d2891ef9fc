"""Benchmark: our PLS-25 cross-validation and internal-consistency ceiling against Brain-Score's, side by side.

Data (fixed seed): 3200 stimuli x 4096 features -> 168 neuroids, 10 repetitions for the ceiling. Each
(implementation, metric) runs in its own process so its peak memory is its own: ours under this interpreter,
the reference under .venv-reference/bin/python (tests/conformance/make_reference_venv.sh creates it) through
tests/conformance/reference_driver.py. Writes bench/results/metrics.json.

Usage: .venv/bin/python bench/metrics.py [--stimuli 3200 --features 4096 --neuroids 168 --repetitions 10]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_PYTHON = ROOT / ".venv-reference" / "bin" / "python"
REFERENCE_DRIVER = ROOT / "tests" / "conformance" / "reference_driver.py"
RESULTS = ROOT / "bench" / "results" / "metrics.json"
METRICS = ("pls", "internal_consistency")


def make_case(path: Path, stimuli: int, features: int, neuroids: int, repetitions: int) -> None:
    """A source with decaying spectrum (like a network layer) and a noisy linear read-out of it as the target."""
    rng = np.random.default_rng(0)
    source = rng.normal(size=(stimuli, features)) * (1.0 / np.sqrt(1 + np.arange(features)))
    signal = source @ rng.normal(size=(features, neuroids))
    signal /= signal.std(axis=0)
    trials = np.concatenate([signal + 2.0 * rng.normal(size=signal.shape) for _ in range(repetitions)])
    ids = np.array([f"stim{i:05d}" for i in range(stimuli)])
    np.savez(path, source=source, source_ids=ids, trials=trials, trial_ids=np.tile(ids, repetitions),
             repetition=np.repeat(np.arange(repetitions), stimuli))


def current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def run_ours(case_path: str, metric: str, out_path: str) -> None:
    """One metric with cortexscore, measured the same way reference_driver.py measures Brain-Score's."""
    import xarray as xr

    from cortexscore.ceilings import load_ceiling
    from cortexscore.metrics import load_metric

    data = np.load(case_path)
    trials = xr.DataArray(data["trials"], dims=("presentation", "neuroid"), coords={
        "stimulus_id": ("presentation", data["trial_ids"]), "repetition": ("presentation", data["repetition"])})
    source = xr.DataArray(data["source"], dims=("presentation", "neuroid"),
                          coords={"stimulus_id": ("presentation", data["source_ids"])})
    # Build the metric before measuring, so its module imports are not counted, as reference_driver.py does.
    if metric == "internal_consistency":
        compute, inputs = load_ceiling(metric), (trials,)
    else:
        compute, inputs = load_metric(metric), (source, trials)
    rss_before = current_rss()
    started = time.perf_counter()
    score = compute(*inputs)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    Path(out_path).write_text(json.dumps({metric: {"value": score.value, "error": score.error,
                                                   "seconds": seconds, "peak_bytes": peak}}))


def measure(command: list[str], out_path: Path, metric: str) -> dict:
    subprocess.run(command, check=True, env={**os.environ, "TQDM_DISABLE": "1"})
    return json.loads(out_path.read_text())[metric]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stimuli", type=int, default=3200)
    parser.add_argument("--features", type=int, default=4096)
    parser.add_argument("--neuroids", type=int, default=168)
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--ours", nargs=3, metavar=("CASE", "METRIC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours:
        return run_ours(*args.ours)
    if not REFERENCE_PYTHON.exists():
        sys.exit("No .venv-reference: run tests/conformance/make_reference_venv.sh first.")
    results = {"data": {"stimuli": args.stimuli, "features": args.features, "neuroids": args.neuroids,
                        "repetitions": args.repetitions, "seed": 0},
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "load_average_1min_at_start": os.getloadavg()[0]},
               "peak_bytes_note": "peak RSS of the metric's own process above its RSS just before the call"}
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp) / "case.npz"
        make_case(case, args.stimuli, args.features, args.neuroids, args.repetitions)
        for metric in METRICS:
            ours_out, reference_out = Path(tmp) / f"ours-{metric}.json", Path(tmp) / f"reference-{metric}.json"
            ours = measure([sys.executable, __file__, "--ours", str(case), metric, str(ours_out)], ours_out, metric)
            print(f"{metric}: ours {ours}", flush=True)
            reference = measure([str(REFERENCE_PYTHON), str(REFERENCE_DRIVER), str(case), str(reference_out), metric],
                                reference_out, metric)
            print(f"{metric}: reference {reference}", flush=True)
            results[metric] = {
                "ours": ours, "reference": reference,
                "time_ratio_ours_over_reference": ours["seconds"] / reference["seconds"],
                "peak_memory_ratio_ours_over_reference": ours["peak_bytes"] / reference["peak_bytes"],
                "abs_difference_value": abs(ours["value"] - reference["value"]),
                "abs_difference_error": abs(ours["error"] - reference["error"]),
            }
    results["machine"]["load_average_1min_at_end"] = os.getloadavg()[0]  # other work on the machine slows both
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
