"""Conformance on the defaults and edge cases where cortexscore used to differ from brainscore-vision 2.4.2.

Each case runs Brain-Score's own metric under .venv-reference (tests/conformance/reference_edge_driver.py)
and ours on the same arrays. Before this suite existed every one of them disagreed: ours split without
stratification by default, averaged ``rdm`` per subject, fitted PLS components past the source's rank, raised
on a neuroid whose test target is constant in one split, and left out CKA's 1e-12 in the denominator.
"""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import xarray as xr

from cortexscore.metrics import load_metric
from tests.conformance.test_reference import REFERENCE_PYTHON, pytestmark  # noqa: F401  (skip without the venv)
from pathlib import Path

DRIVER = Path(__file__).with_name("reference_edge_driver.py")


def reference(tmp_path, arrays: dict, case: dict) -> float:
    np.savez(tmp_path / "case.npz", **arrays)
    (tmp_path / "case.json").write_text(json.dumps(case))
    subprocess.run([str(REFERENCE_PYTHON), str(DRIVER), str(tmp_path / "case.json"), str(tmp_path / "case.npz"),
                    str(tmp_path / "out.json")], check=True, timeout=300, capture_output=True)
    return json.loads((tmp_path / "out.json").read_text())["value"]


def assembly(values, ids, **coords) -> xr.DataArray:
    presentation = {name: ("presentation", value) for name, value in coords.items() if len(value) == len(values)}
    neuroid = {name: ("neuroid", value) for name, value in coords.items() if len(value) != len(values)}
    return xr.DataArray(values, dims=("presentation", "neuroid"), coords={
        "stimulus_id": ("presentation", ids), **presentation, **neuroid})


def objects_case(seed: int, repetitions: int = 3):
    rng = np.random.default_rng(seed)
    objects, per_object, features, neuroids = 8, 20, 40, 10
    stimuli = objects * per_object
    object_name = np.repeat([f"object{k}" for k in range(objects)], per_object)
    latent = rng.normal(size=(objects, 6))[np.repeat(np.arange(objects), per_object)] + rng.normal(size=(stimuli, 6))
    source = latent @ rng.normal(size=(6, features)) + 0.5 * rng.normal(size=(stimuli, features))
    signal = latent @ rng.normal(size=(6, neuroids))
    trials = np.concatenate([signal + 2 * rng.normal(size=signal.shape) for _ in range(repetitions)])
    ids = np.array([f"img{i:03d}" for i in range(stimuli)])
    return dict(source=source, ids=ids, object_name=object_name, trials=trials, trial_ids=np.tile(ids, repetitions),
                trial_objects=np.tile(object_name, repetitions),
                repetition=np.repeat(np.arange(repetitions), stimuli))


SOURCE = {"values": "source", "presentation": {"stimulus_id": "ids", "object_name": "object_name"}}
TRIALS = {"values": "trials", "presentation": {"stimulus_id": "trial_ids", "object_name": "trial_objects",
                                               "repetition": "repetition"}}


@pytest.mark.parametrize("name", ["pls", "ridge"])
def test_regressions_stratify_on_object_name_by_default(name, tmp_path):
    data = objects_case(0)
    expected = reference(tmp_path, data, {"metric": name, "source": SOURCE, "target": TRIALS,
                                          "average_repetitions": True})
    ours = load_metric(name)(assembly(data["source"], data["ids"], object_name=data["object_name"]),
                             assembly(data["trials"], data["trial_ids"], object_name=data["trial_objects"],
                                      repetition=data["repetition"]))
    assert ours.value == pytest.approx(expected, abs=1e-6)
    assert ours.attrs["stratification"] == "object_name"


def test_rdm_cv_stratifies_on_object_name_by_default(tmp_path):
    data = objects_case(1, repetitions=1)
    target = {"values": "trials", "presentation": {"stimulus_id": "ids", "object_name": "object_name"}}
    expected = reference(tmp_path, data, {"metric": "rdm_cv", "source": SOURCE, "target": target})
    ours = load_metric("rdm_cv")(assembly(data["source"], data["ids"], object_name=data["object_name"]),
                                 assembly(data["trials"], data["ids"], object_name=data["object_name"]))
    assert ours.value == pytest.approx(expected, abs=1e-9)
    assert ours.attrs["stratification"] == "object_name"


def test_rdm_pools_the_neuroids_of_every_subject(tmp_path):
    data = objects_case(2, repetitions=1)
    data["subject"] = np.array(["a"] * 4 + ["b"] * 6)
    target = {"values": "trials", "presentation": {"stimulus_id": "ids"}, "neuroid": {"subject": "subject"}}
    source = {"values": "source", "presentation": {"stimulus_id": "ids"}}
    expected = reference(tmp_path, data, {"metric": "rdm", "source": source, "target": target})
    ours = load_metric("rdm")(assembly(data["source"], data["ids"]),
                              assembly(data["trials"], data["ids"], subject=data["subject"]))
    assert ours.value == pytest.approx(expected, abs=1e-9)


def test_pls_components_are_capped_at_the_source_rank_and_then_equal_the_reference(tmp_path):
    rng = np.random.default_rng(3)
    stimuli, rank, features = 200, 8, 60
    source = rng.normal(size=(stimuli, rank)) @ rng.normal(size=(rank, features))
    target = source[:, :5] @ rng.normal(size=(5, 6)) + 3 * rng.normal(size=(stimuli, 6))
    ids = np.array([f"img{i:03d}" for i in range(stimuli)])
    data = dict(source=source, ids=ids, trials=target)
    plain = {"crossvalidation_kwargs": {"stratification_coord": None}}
    source_description = {"values": "source", "presentation": {"stimulus_id": "ids"}}
    target_description = {"values": "trials", "presentation": {"stimulus_id": "ids"}}
    expected = reference(tmp_path, data, {"metric": "pls", "kwargs": plain, "pls_components": rank,
                                          "source": source_description, "target": target_description})
    ours = load_metric("pls")(assembly(source, ids), assembly(target, ids))
    assert ours.value == pytest.approx(expected, abs=1e-6)
    assert (ours.attrs["n_components"], ours.attrs["n_components_capped_at_rank"]) == (rank, True)
    moved = load_metric("pls")(assembly(1e-9 * source[:, rng.permutation(features)], ids), assembly(target, ids))
    assert moved.value == pytest.approx(ours.value, abs=1e-9)


def test_a_neuroid_constant_on_one_splits_test_stimuli_is_dropped_from_that_median(tmp_path):
    data = objects_case(4, repetitions=1)
    trials = data["trials"].copy()
    trials[:, 0] = 0.0
    trials[7, 0] = 1.0  # neuroid n0 varies only through img007: constant wherever img007 is not tested
    data["trials"] = trials
    source_description = {"values": "source", "presentation": {"stimulus_id": "ids"}}
    target_description = {"values": "trials", "presentation": {"stimulus_id": "ids"}}
    expected = reference(tmp_path, data, {"metric": "pls", "kwargs": {"crossvalidation_kwargs": {
        "stratification_coord": None}}, "source": source_description, "target": target_description})
    ours = load_metric("pls", stratification_coord=None)(assembly(data["source"], data["ids"]),
                                                         assembly(trials, data["ids"]))
    assert ours.value == pytest.approx(expected, abs=1e-6)
    assert ours.attrs["dropped_neuroids"] and all(ids == [0] for ids in ours.attrs["dropped_neuroids"].values())


def test_unbiased_cka_adds_1e_12_to_its_denominator(tmp_path):
    rng = np.random.default_rng(5)
    ids = np.array([f"img{i:02d}" for i in range(50)])
    source = 1e-3 * rng.normal(size=(50, 10))  # HSICs of ~1e-10: the 1e-12 moves CKA by about 1%
    target = source @ rng.normal(size=(10, 8)) + 1e-3 * rng.normal(size=(50, 8))
    data = dict(source=source, ids=ids, trials=target)
    description = {"presentation": {"stimulus_id": "ids"}}
    expected = reference(tmp_path, data, {"metric": "cka", "source": {"values": "source", **description},
                                          "target": {"values": "trials", **description}})
    ours = load_metric("cka")(assembly(source, ids), assembly(target, ids))
    assert ours.value == pytest.approx(expected, rel=1e-9)


def test_i2n_takes_brain_score_trial_assemblies_as_they_are(tmp_path):
    """Brain-Score's 2-way trials name the truth and the distractor ``sample_obj`` and ``dist_obj``."""
    rng = np.random.default_rng(6)
    labels = np.array(["bear", "car", "dog", "elephant"])
    images = np.array([f"im{i:02d}" for i in range(24)])
    truth = np.repeat(labels, 6)
    probabilities = rng.dirichlet(np.ones(4), size=24)
    trial_image, sample_obj, dist_obj, choice = [], [], [], []
    for index, image in enumerate(images):
        for _ in range(30):
            distractor = rng.choice(labels[labels != truth[index]])
            p_truth = probabilities[index, labels == truth[index]][0]
            p_distractor = probabilities[index, labels == distractor][0]
            picked = truth[index] if rng.random() < (p_truth + 0.2) / (p_truth + p_distractor + 0.2) else distractor
            trial_image.append(image), sample_obj.append(truth[index]), dist_obj.append(distractor)
            choice.append(picked)
    case = dict(probabilities=probabilities, images=images, labels=labels, trial_image=np.array(trial_image),
                sample_obj=np.array(sample_obj), dist_obj=np.array(dist_obj), choice=np.array(choice))
    np.savez(tmp_path / "case.npz", **case)
    subprocess.run([str(REFERENCE_PYTHON), str(Path(__file__).with_name("reference_i2n_driver.py")),
                    str(tmp_path / "case.npz"), str(tmp_path / "out.json")], check=True, timeout=300,
                   capture_output=True)
    expected = json.loads((tmp_path / "out.json").read_text())
    source = xr.DataArray(probabilities, dims=("presentation", "choice"),
                          coords={"stimulus_id": ("presentation", images), "choice": labels})
    trials = xr.DataArray(case["choice"], dims="presentation", coords={  # Brain-Score's coordinates, unchanged
        "stimulus_id": ("presentation", case["trial_image"]), "sample_obj": ("presentation", case["sample_obj"]),
        "dist_obj": ("presentation", case["dist_obj"])})
    ours = load_metric("i2n")(source, trials)
    assert ours.attrs["raw_per_split"].mean() == pytest.approx(expected["raw"], abs=1e-9)
    assert ours.attrs["ceiling_per_split"].mean() == pytest.approx(expected["ceiling"], abs=1e-9)
