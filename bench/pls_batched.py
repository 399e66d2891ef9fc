"""Benchmark: the 10 cross-validation PLS fits of one metric call, fitted together against one at a time.

Data (fixed seed), shaped like the activations benchmark's metric calls: a source of 2000 features with a
decaying spectrum (like a network layer), 64 neuroids read out from it with noise, 100 or 300 stimuli, and
the metric's 10 shuffle splits (train 0.9). Each split's centred Gram blocks are built once; the timings are
of the fits only. Side by side in one process, alternating, the fastest of ``--repeats`` runs each:

- ``batched``: ``kernel_pls_predict_splits`` on the 10 splits stacked, as the metric calls it;
- ``per_split``: ``kernel_pls_predict`` once per split (the same code with one fit at a time);
- ``previous``: the kernel NIPALS before batching (one Python power-iteration loop per split), read from git
  commit 3da39e9; left out when git or the commit is not there;
- ``sklearn``: ``PLSRegression(25, scale=False)`` per split, the reference every prediction is compared to.

Usage: .venv/bin/python bench/pls_batched.py [--repeats 5]
Writes bench/results/pls_batched.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
import types
import warnings
from pathlib import Path

import numpy as np
from sklearn.cross_decomposition import PLSRegression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ShuffleSplit

from cortexscore.metrics._pls import kernel_pls_predict, kernel_pls_predict_splits

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "pls_batched.json"
PREVIOUS_COMMIT = "3da39e9"


def previous_implementation():
    """``kernel_pls_predict`` as it was before batching, or None."""
    try:
        source = subprocess.run(["git", "show", f"{PREVIOUS_COMMIT}:shared/cortexscore/metrics/_pls.py"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("previous_pls")
    exec(compile(source, "previous_pls", "exec"), module.__dict__)
    return module.kernel_pls_predict


def make_case(stimuli: int, neuroids: int = 64, features: int = 2000, splits: int = 10):
    rng = np.random.default_rng(0)
    source = rng.normal(size=(stimuli, features)) * (1.0 / np.sqrt(1 + np.arange(features)))
    signal = source @ rng.normal(size=(features, neuroids))
    target = signal / signal.std(axis=0) + 2.0 * rng.normal(size=signal.shape)
    fits = []
    for train, test in ShuffleSplit(splits, train_size=0.9, random_state=1).split(source):
        mean = source[train].mean(axis=0)
        centred = source[train] - mean
        fits.append(dict(train=train, test=test, gram=centred @ centred.T, test_gram=(source[test] - mean) @ centred.T,
                         target=target[train] - target[train].mean(axis=0), target_mean=target[train].mean(axis=0)))
    return source, target, fits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)  # sklearn's, on some components of the noisy target
    previous = previous_implementation()
    load_before = [round(value, 2) for value in os.getloadavg()]
    cases = {}
    for stimuli in (100, 300):
        source, target, fits = make_case(stimuli)
        stacked = [np.stack([fit[key] for fit in fits]) for key in ("gram", "test_gram", "target")]
        sides = {
            "batched": lambda: list(kernel_pls_predict_splits(*stacked)),
            "per_split": lambda: [kernel_pls_predict(fit["gram"], fit["test_gram"], fit["target"]) for fit in fits],
            "sklearn": lambda: [PLSRegression(25, scale=False).fit(source[fit["train"]], target[fit["train"]])
                                .predict(source[fit["test"]]) - fit["target_mean"] for fit in fits],
        }
        if previous is not None:
            sides["previous"] = lambda: [previous(fit["gram"], fit["test_gram"], fit["target"].copy()) for fit in fits]
        seconds, predictions = {name: [] for name in sides}, {}
        for _ in range(args.repeats):
            for name, run in sides.items():  # alternating, so that a load change hits every side alike
                started = time.perf_counter()
                predictions[name] = run()
                seconds[name].append(time.perf_counter() - started)
        fastest = {name: min(times) for name, times in seconds.items()}
        cases[f"{stimuli}_stimuli"] = {
            "n_train": len(fits[0]["train"]), "n_test": len(fits[0]["test"]), "neuroids": target.shape[1],
            "features": source.shape[1], "splits": len(fits),
            "seconds": {name: round(value, 4) for name, value in fastest.items()},
            "per_split_over_batched": round(fastest["per_split"] / fastest["batched"], 2),
            "sklearn_over_batched": round(fastest["sklearn"] / fastest["batched"], 2),
            **({"previous_over_batched": round(fastest["previous"] / fastest["batched"], 2)} if previous else {}),
            "max_abs_difference_to_sklearn": {
                name: float(max(np.abs(ours - reference).max()
                                for ours, reference in zip(predictions[name], predictions["sklearn"])))
                for name in sides if name != "sklearn"},
        }
    result = {"cases": cases, "repeats": args.repeats, "previous_commit": PREVIOUS_COMMIT if previous else None,
              "load_average_before": load_before,
              "load_average_after": [round(value, 2) for value in os.getloadavg()],
              "cpu_count": os.cpu_count(), "numpy": np.__version__, "python": platform.python_version(),
              "machine": platform.machine()}
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
