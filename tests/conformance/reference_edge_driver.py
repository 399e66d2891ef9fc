"""Run one Brain-Score metric on assemblies described in a JSON file; write its value as JSON.

Runs under .venv-reference/bin/python (brainscore-vision 2.4.2); it must not import cortexscore.
Usage: python reference_edge_driver.py CASE.json CASE.npz OUT.json

CASE.json: {"metric": registry name, "kwargs": {...}, "pls_components": int or null,
            "source": {"values": npz key, "presentation": {coord: npz key}, "neuroid": {coord: npz key}},
            "target": {... the same, trials ...}, "average_repetitions": bool}
"""
import json
import os
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")
os.environ.setdefault("TQDM_DISABLE", "1")

from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly  # noqa: E402
from brainscore_vision import load_metric  # noqa: E402
from brainscore_vision.benchmark_helpers.neural_common import average_repetition  # noqa: E402


def assembly(data, description):
    values = data[description["values"]]
    coords = {name: ("presentation", data[key]) for name, key in description.get("presentation", {}).items()}
    coords.update({name: ("neuroid", data[key]) for name, key in description.get("neuroid", {}).items()})
    coords.setdefault("neuroid_id", ("neuroid", [f"n{i}" for i in range(values.shape[1])]))
    coords.setdefault("region", ("neuroid", ["IT"] * values.shape[1]))  # two levels, as on real assemblies
    # a second presentation level keeps 'presentation' a MultiIndex, as on real assemblies
    coords.setdefault("stimulus_index", ("presentation", np.unique(data[description["presentation"]["stimulus_id"]],
                                                                   return_inverse=True)[1]))
    return NeuroidAssembly(values, dims=["presentation", "neuroid"], coords=coords)


def main(case_path, data_path, out_path):
    case = json.loads(open(case_path).read())
    data = np.load(data_path, allow_pickle=False)
    source = assembly(data, case["source"]).sortby("stimulus_id")
    target = assembly(data, case["target"])
    if case.get("average_repetitions"):
        target = average_repetition(target)
    target = target.sortby("stimulus_id")
    kwargs = dict(case.get("kwargs") or {})
    if case.get("pls_components"):
        from brainscore_vision.metrics.regression_correlation.metric import (
            CrossRegressedCorrelation, pearsonr_correlation, pls_regression)
        metric = CrossRegressedCorrelation(
            regression=pls_regression(dict(n_components=case["pls_components"])),
            correlation=pearsonr_correlation(), **kwargs)
    else:
        metric = load_metric(case["metric"], **kwargs)
    score = metric(source, target)
    with open(out_path, "w") as out:
        json.dump({"value": float(np.asarray(score.values).squeeze())}, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
