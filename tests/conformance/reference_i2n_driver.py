"""Run Brain-Score's I2n and its ceiling on a Brain-Score trial assembly; write both values as JSON.

Runs under .venv-reference/bin/python; it must not import cortexscore.
Usage: python reference_i2n_driver.py CASE.npz OUT.json
CASE.npz: probabilities (images x labels), images, labels, and per trial: trial_image, choice, sample_obj, dist_obj.
"""
import json
import os
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")
os.environ.setdefault("TQDM_DISABLE", "1")

from brainscore_core.supported_data_standards.brainio.assemblies import BehavioralAssembly  # noqa: E402
from brainscore_vision import load_metric  # noqa: E402


def main(case_path, out_path):
    data = np.load(case_path)
    images, labels = data["images"].astype(str), data["labels"].astype(str)
    source = BehavioralAssembly(data["probabilities"], dims=["presentation", "choice"], coords={
        "stimulus_id": ("presentation", images), "image_index": ("presentation", np.arange(len(images))),
        "choice": ("choice", labels)})
    trials = BehavioralAssembly(data["choice"].astype(str), dims=["presentation"], coords={
        "stimulus_id": ("presentation", data["trial_image"].astype(str)),
        "truth": ("presentation", data["sample_obj"].astype(str)),
        "sample_obj": ("presentation", data["sample_obj"].astype(str)),
        "dist_obj": ("presentation", data["dist_obj"].astype(str))})
    metric = load_metric("i2n")
    score = metric(source, trials)
    ceiling = metric.ceiling(trials, skipna=True)  # as the Rajalingham2018 benchmark calls it
    with open(out_path, "w") as out:
        json.dump({"raw": float(np.asarray(score.values).squeeze()),
                   "ceiling": float(np.asarray(ceiling.values).squeeze())}, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
