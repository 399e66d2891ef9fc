"""Run Brain-Score's own metrics on assemblies from an .npz file; write values and errors as JSON.

Runs under .venv-reference/bin/python (brainscore-vision 2.4.2, brainscore-core 2.5.0); it must not import
cortexscore. Usage: python reference_driver.py CASE.npz OUT.json [metric ...]

The .npz holds: source (stimuli x features), source_ids, trials (trials x neuroids), trial_ids, repetition,
and optionally object_name (per trial; then the regressions stratify on it).
"""
import json
import sys
import time
import resource
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import os  # noqa: E402
os.environ.setdefault("TQDM_DISABLE", "1")

from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly  # noqa: E402
from brainscore_vision import load_metric  # noqa: E402
from brainscore_vision.benchmark_helpers.neural_common import average_repetition  # noqa: E402

REGISTRY_NAMES = {"pls": "pls", "ridge": "ridge", "linear": "linear_predictivity", "rdm": "rdm", "cka": "cka",
                  "internal_consistency": "internal_consistency"}


def assemblies(data):
    source = NeuroidAssembly(data["source"], dims=["presentation", "neuroid"], coords={
        "stimulus_id": ("presentation", data["source_ids"].astype(str)),
        # a second level keeps 'presentation' a MultiIndex, as on real model activations
        "stimulus_index": ("presentation", np.arange(data["source"].shape[0])),
        "neuroid_id": ("neuroid", [f"f{i}" for i in range(data["source"].shape[1])])})
    trial_ids = data["trial_ids"].astype(str)
    trial_coords = {"stimulus_id": ("presentation", trial_ids),
                    # stimulus metadata besides the id, as real assemblies have; with the id alone brainio's
                    # groupby would rename the averaged 'presentation' dim to 'stimulus_id'
                    "stimulus_index": ("presentation", np.unique(trial_ids, return_inverse=True)[1]),
                    "repetition": ("presentation", data["repetition"]),
                    "neuroid_id": ("neuroid", [f"n{i}" for i in range(data["trials"].shape[1])]),
                    "region": ("neuroid", ["IT"] * data["trials"].shape[1])}
    stratify = "object_name" in data.files
    if stratify:
        trial_coords["object_name"] = ("presentation", data["object_name"].astype(str))
        object_of = dict(zip(data["trial_ids"].astype(str), data["object_name"].astype(str)))
        source = source.assign_coords(object_name=("presentation", [object_of[s] for s in data["source_ids"].astype(str)]))
        source = NeuroidAssembly(source)  # re-stack the presentation MultiIndex with the new coordinate
    trials = NeuroidAssembly(data["trials"], dims=["presentation", "neuroid"], coords=trial_coords)
    # The benchmark recipe: average repetitions, and hand the metric assemblies sorted by stimulus_id.
    target = average_repetition(trials).sortby("stimulus_id")
    return source.sortby("stimulus_id"), target, trials, stratify


def run(name, source, target, trials, stratify):
    if name == "internal_consistency":
        return load_metric(REGISTRY_NAMES[name])(trials)
    if name in ("pls", "ridge", "linear"):
        metric = load_metric(REGISTRY_NAMES[name], crossvalidation_kwargs=dict(
            stratification_coord="object_name" if stratify else None))
        return metric(source, target)
    return load_metric(REGISTRY_NAMES[name])(source, target)


def current_rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def main(case_path, out_path, *names):
    data = np.load(case_path)
    results = {}
    for name in names or REGISTRY_NAMES:
        source, target, trials, stratify = assemblies(data)
        load_metric(REGISTRY_NAMES[name])  # import the plugin first, so its imports are not counted as its memory
        rss_before = current_rss()
        started = time.perf_counter()
        score = run(name, source, target, trials, stratify)
        seconds = time.perf_counter() - started
        # Peak memory above what was resident before the call; exact only when each metric runs in its own process.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
        error = score.attrs.get("error")
        results[name] = {"value": float(np.asarray(score.values).squeeze()),
                         "error": None if error is None else float(np.asarray(error).squeeze()),
                         "seconds": seconds, "peak_bytes": peak}
    with open(out_path, "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
