"""Conformance: our metrics and ceilings against Brain-Score's own code, run in .venv-reference.

Create the reference environment with tests/conformance/make_reference_venv.sh (about a minute). Each case
is written to an .npz in tmp_path, scored by tests/conformance/reference_driver.py under the reference
interpreter, and by cortexscore here; values and errors must agree within 1e-6 absolute.

One reference bug shows here, in ``linear`` on the structured case (more features than train stimuli):
sklearn's LinearRegression solves with scipy's lstsq at its default ``cond`` (machine eps), which keeps the
~1e-13 singular value that centring leaves in a wide design. Its fit then carries a component made of
rounding noise, which moves test predictions by up to ~0.05 between BLAS builds (even sklearn against a
plain lstsq call in one environment). We drop singular values below numpy's rank tolerance, the true
minimum-norm OLS, so on that case ``linear`` agrees only within LINEAR_WIDE_TOLERANCE (1e-3), not 1e-6.

Where the two differ by design, the cases avoid it:
- When a stimulus has no trial at all in one half of the repetitions, the reference's Pearson r is NaN for
  every neuroid, and its NaN-skipping median (xarray) and mean silently drop that split; we raise a
  ValueError instead, so the structured case drops at most one repetition per stimulus.
- Brain-Score's regression metrics stratify on 'object_name' by default and fail when it is absent; ours
  stratify on it by default too but fall back to plain splits (recorded in attrs) when it is absent, so the
  driver passes stratification_coord explicitly. test_reference_edges.py checks the defaults themselves.
- Brain-Score's rdm and cka return no error; ours report 0 for both (rdm pools all neuroids into one RDM,
  as Brain-Score's does), so only the values are compared for those two.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cortexscore.ceilings import load_ceiling
from cortexscore.metrics import load_metric

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_PYTHON = ROOT / ".venv-reference" / "bin" / "python"
DRIVER = Path(__file__).with_name("reference_driver.py")
TOLERANCE = 1e-6
LINEAR_WIDE_TOLERANCE = 1e-3  # see the module docstring: the reference's wide OLS includes rounding noise

pytestmark = pytest.mark.skipif(
    not REFERENCE_PYTHON.exists(),
    reason="no Brain-Score reference environment: run tests/conformance/make_reference_venv.sh to create "
           ".venv-reference (CI does this)")


def random_case(rng: np.random.Generator) -> dict:
    """Gaussian source; the target is a noisy linear read-out, with 4 repetitions; no stratification."""
    stimuli, features, neuroids, repetitions = 200, 60, 15, 4
    source = rng.normal(size=(stimuli, features))
    signal = source @ rng.normal(size=(features, neuroids)) * 0.2
    ids = np.array([f"im{i:04d}" for i in range(stimuli)])
    order = rng.permutation(stimuli)  # the source arrives in a different order than the target
    return dict(source=source[order], source_ids=ids[order],
                trials=np.concatenate([signal + rng.normal(size=signal.shape) for _ in range(repetitions)]),
                trial_ids=np.tile(ids, repetitions), repetition=np.repeat(np.arange(repetitions), stimuli))


def structured_case(rng: np.random.Generator) -> dict:
    """Objects x images with a wide source (features > stimuli), stratified splits, and missing trials."""
    objects, per_object, features, neuroids, repetitions = 8, 20, 250, 20, 5
    stimuli = objects * per_object
    object_of = np.repeat([f"object{k}" for k in range(objects)], per_object)
    prototypes = rng.normal(size=(objects, 30))
    latent = prototypes[np.repeat(np.arange(objects), per_object)] + 0.7 * rng.normal(size=(stimuli, 30))
    source = np.tanh(latent @ rng.normal(size=(30, features))) + 0.1 * rng.normal(size=(stimuli, features))
    signal = latent @ rng.normal(size=(30, neuroids)) * 0.3
    trials = np.concatenate([signal + rng.normal(size=signal.shape) for _ in range(repetitions)])
    # A tenth of the stimuli miss one repetition, so every half of the repetitions still sees every stimulus.
    missing = rng.choice(stimuli, stimuli // 10, replace=False)
    trials[rng.integers(0, repetitions, len(missing)) * stimuli + missing] = np.nan
    ids = np.array([f"img{i:04d}" for i in range(stimuli)])
    return dict(source=source, source_ids=ids, trials=trials, trial_ids=np.tile(ids, repetitions),
                repetition=np.repeat(np.arange(repetitions), stimuli), object_name=np.tile(object_of, repetitions))


def our_scores(case: dict) -> dict:
    source = xr.DataArray(case["source"], dims=("presentation", "neuroid"),
                          coords={"stimulus_id": ("presentation", case["source_ids"])})
    coords = {"stimulus_id": ("presentation", case["trial_ids"]), "repetition": ("presentation", case["repetition"])}
    if "object_name" in case:
        coords["object_name"] = ("presentation", case["object_name"])
    trials = xr.DataArray(case["trials"], dims=("presentation", "neuroid"), coords=coords)
    stratify = "object_name" if "object_name" in case else None
    scores = {name: load_metric(name, stratification_coord=stratify)(source, trials)
              for name in ("pls", "ridge", "linear")}
    scores.update({name: load_metric(name)(source, trials) for name in ("rdm", "cka")})
    scores["internal_consistency"] = load_ceiling("internal_consistency")(trials)
    return scores


@pytest.mark.parametrize("make_case, seed", [(random_case, 0), (structured_case, 1)])
def test_values_and_errors_match_brain_score(make_case, seed, tmp_path):
    case = make_case(np.random.default_rng(seed))
    np.savez(tmp_path / "case.npz", **case)
    subprocess.run([str(REFERENCE_PYTHON), str(DRIVER), str(tmp_path / "case.npz"), str(tmp_path / "reference.json")],
                   check=True, timeout=400, capture_output=True)  # ~20 s each on an idle 2-core machine
    reference = json.loads((tmp_path / "reference.json").read_text())
    ours = our_scores(case)
    wide = case["source"].shape[1] > 0.9 * case["source"].shape[0]
    for name, expected in reference.items():
        tolerance = LINEAR_WIDE_TOLERANCE if name == "linear" and wide else TOLERANCE
        assert ours[name].value == pytest.approx(expected["value"], abs=tolerance), name
        if expected["error"] is not None:
            assert ours[name].error == pytest.approx(expected["error"], abs=tolerance), name
