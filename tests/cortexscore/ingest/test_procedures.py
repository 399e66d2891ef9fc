"""The scoring procedures of the ingested benchmarks: RSA on published RDMs, Coggan's RSMs, error consistency."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cortexscore.benchmarks.coggan import coggan_ceiling, model_rsm, off_diagonal, score_coggan
from cortexscore.benchmarks.error_consistency import CATEGORIES, IMAGENET_INDICES, sixteen_class_choices
from cortexscore.benchmarks.rsa import matrix_assembly, rdm_subjects_ceiling, score_rsa_matrices
from cortexscore.benchmarks.scoring import procedure, score_activations
from cortexscore.benchmarks.spec import BenchmarkSpec, DataRef
from cortexscore.ingest import DEFAULT_MIRROR
from cortexscore.ingest.builders import build_geirhos
from cortexscore.ingest.manifest import GEIRHOS
from cortexscore.metrics.representational import rdm

EMPTY = DataRef(identifier="x", version=1, files={})


def spec(**fields) -> BenchmarkSpec:
    return BenchmarkSpec(identifier="Test.IT-x", stimulus_set=EMPTY, assembly=EMPTY, num_stimuli=0, **fields)


def table(ids) -> pd.DataFrame:
    return pd.DataFrame({"stimulus_id": ids, "filename": [f"{i}.png" for i in ids],
                         "category": ["a", "b"] * (len(ids) // 2)})


def test_the_16_categories_cover_disjoint_imagenet_classes():
    indices = [index for category in CATEGORIES for index in IMAGENET_INDICES[category]]
    assert len(CATEGORIES) == 16 and len(indices) == len(set(indices))
    assert all(IMAGENET_INDICES[category] for category in CATEGORIES)
    assert min(indices) >= 0 and max(indices) < 1000


def test_choices_read_1001_way_logits_without_the_background_class():
    logits = np.zeros((16, 1001))
    for row, category in enumerate(CATEGORIES):
        logits[row, 1 + IMAGENET_INDICES[category][-1]] = 20  # class k of a 1001-way output is ImageNet k - 1
    assert sixteen_class_choices(logits).tolist() == list(CATEGORIES)
    with pytest.raises(ValueError, match="1000-way ImageNet logits"):
        sixteen_class_choices(np.zeros((2, 10)))


@pytest.mark.skipif(not DEFAULT_MIRROR.is_dir(), reason="the data mirror is absent")
def test_a_model_that_answers_like_one_subject_has_error_consistency_1_with_that_subject(tmp_path):
    edge = next(packaged for packaged in build_geirhos(DEFAULT_MIRROR / GEIRHOS.folder, tmp_path)
                if packaged.fields["identifier"] == "Geirhos2021edge-error_consistency")
    subject = edge.assembly.isel(presentation=edge.assembly["subject"].values == "subject-01")
    answers = pd.Series(subject.values, index=subject["stimulus_id"].values)
    logits = np.zeros((len(edge.table), 1000))
    for row, stimulus_id in enumerate(edge.table["stimulus_id"]):
        logits[row, IMAGENET_INDICES[answers[stimulus_id]][0]] = 30
    benchmark = spec(kind="behavior", scoring="error_consistency", metric="error_consistency",
                     ceiling_method="error_consistency", convention="clipped_r_over_ceiling")
    assert procedure(benchmark).layers == "logits"
    result = score_activations(benchmark, edge.assembly, edge.table, {"logits": logits}, ceiling=edge.ceiling,
                               log=lambda _: None)
    per_subject = dict(zip(result.provenance["subjects"], result.provenance["per_split"]))
    assert per_subject["subject-01"] == pytest.approx(1.0)
    assert 0 < result.raw < 1 and 0 <= result.ceiled <= 1 and result.layer == "logits"


def test_rsa_commits_the_layer_on_the_public_half_and_scores_it_on_the_private_half():
    rng = np.random.default_rng(0)
    ids = [f"im{i:02d}" for i in range(40)]
    good = rng.normal(size=(40, 30))
    target = matrix_assembly(np.stack([rdm(good)] * 2), ids, ["s1", "s2"], [1, 2], identifier="t",
                             stimulus_set_identifier="s", kind="rdm")
    shuffled = np.random.default_rng(1).permutation(40)  # the table's row order differs from the target's
    stimuli = table(ids).assign(split=["public"] * 20 + ["private"] * 20)
    result = score_rsa_matrices(
        spec(scoring="rsa_matrices", metric="rdm", convention="r_over_ceiling", commits_region=True,
             metric_options={"stratification_coord": "category"}),
        target, stimuli.iloc[shuffled].reset_index(drop=True),
        {"noise": rng.normal(size=(40, 30)), "good": good[shuffled]}, log=lambda _: None)
    assert result.layer == "good" and result.raw == pytest.approx(1.0) and result.ceiled == pytest.approx(1.0)
    assert len(result.provenance["per_split"]) == 10
    selection = result.provenance["layer_selection"]
    assert (selection["stimuli"], selection["overlap_with_scored_stimuli"], result.provenance["scoring_stimuli"]) \
        == (20, 0, 20)


def test_a_benchmark_without_commitment_data_refuses_to_choose_on_its_scored_stimuli():
    ids = [f"im{i:02d}" for i in range(12)]
    features = np.random.default_rng(0).normal(size=(12, 5))
    target = matrix_assembly(np.stack([rdm(features)] * 2), ids, ["s1", "s2"], [1, 2], identifier="t",
                             stimulus_set_identifier="s", kind="rdm")
    benchmark = spec(scoring="rsa_matrices", metric="rdm", convention="r_over_ceiling",
                     metric_options={"stratification_coord": None})
    with pytest.raises(ValueError, match="no commitment data for region None was given"):
        score_rsa_matrices(benchmark, target, table(ids), {"layer": features}, log=lambda _: None)
    result = score_rsa_matrices(benchmark, target, table(ids), {"layer": features}, log=lambda _: None,
                                region_layer_map={None: "layer"})
    assert result.provenance["layer_selection"]["user_given"] and result.raw == pytest.approx(1.0)


def test_rdm_subject_ceiling_averages_sessions_per_subject():
    rng = np.random.default_rng(0)
    shared = rdm(rng.normal(size=(12, 6)))
    sessions = [shared + 0.2 * rng.random((12, 12)) for _ in range(4)]
    assembly = matrix_assembly(np.stack(sessions), [f"s{i:02d}" for i in range(12)], ["a", "a", "b", "b"],
                               [1, 2, 1, 2], identifier="t", stimulus_set_identifier="s", kind="rdm")
    ceiling = rdm_subjects_ceiling(assembly)
    assert ceiling.attrs["subjects"] == 2 and ceiling.attrs["matrices"] == 4
    assert ceiling.attrs["lower_bound"] <= float(ceiling) <= 1


def test_coggan_uses_every_off_diagonal_entry_of_asymmetric_subject_matrices():
    rng = np.random.default_rng(0)
    ids = [f"im{i:02d}" for i in range(24)]
    features = np.concatenate([rng.normal(size=(24, 50)), 20 + rng.normal(size=(24, 5))], axis=1)
    reference = model_rsm(features)
    lower = np.tril_indices(24, k=-1)
    asymmetric = []
    for _ in range(3):
        matrix = reference.copy()
        matrix[lower] = rng.normal(size=len(lower[0]))  # the lower triangle disagrees with the model
        asymmetric.append(matrix)
    target = matrix_assembly(np.stack(asymmetric), ids, ["s1", "s2", "s3"], [1] * 3, identifier="t",
                             stimulus_set_identifier="s", kind="rsm")
    benchmark = spec(scoring="coggan_rsa", metric="rsm_pearson_offdiagonal", convention="legacy_r_over_ceiling_squared")
    result = score_coggan(benchmark, target, table(ids), {"layer": features}, log=lambda _: None,
                          region_layer_map={None: "layer"})
    upper_only = np.corrcoef(reference[np.triu_indices(24, k=1)], asymmetric[0][np.triu_indices(24, k=1)])[0, 1]
    assert upper_only == pytest.approx(1.0) and 0.1 < result.raw < 0.9
    assert result.ceiled == pytest.approx((result.raw / float(coggan_ceiling(target))) ** 2)
    assert off_diagonal(np.ones((24, 24))).size == 24 * 23


def test_coggan_model_rsm_needs_units_that_pass_the_selection():
    centred = np.random.default_rng(0).normal(size=(24, 4)) + np.array([-1.0, 1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match=r"only 0 of 4 varying units have \|mean\| > 3.1"):
        model_rsm(centred)
    with pytest.raises(ValueError, match="conditions 2 have the same response on every selected unit"):
        model_rsm(np.array([[10.0, 12.0], [12.0, 10.0], [11.0, 11.0]]))


def test_coggan_v1_chooses_its_layer_inside_the_cross_validation_on_train_halves_only():
    rng = np.random.default_rng(0)
    ids = [f"{name}_{part}" for name in "abcdefgh" for part in ("complete", "lower", "upper")]
    good = np.concatenate([rng.normal(size=(24, 50)), 20 + rng.normal(size=(24, 5))], axis=1)
    noise = np.concatenate([rng.normal(size=(24, 50)), 20 + rng.normal(size=(24, 5))], axis=1)
    subjects = np.stack([model_rsm(good) + 0.3 * rng.normal(size=(24, 24)) for _ in range(3)])
    target = matrix_assembly(subjects, ids, ["s1", "s2", "s3"], [1] * 3, identifier="t",
                             stimulus_set_identifier="s", kind="rsm")
    benchmark = spec(scoring="coggan_rsa", metric="rsm_pearson_offdiagonal", region="V1",
                     convention="legacy_r_over_ceiling_squared", layer_selection="nested_cv")
    result = score_coggan(benchmark, target, table(ids), {"noise": noise, "good": good}, log=lambda _: None)
    selection = result.provenance["layer_selection"]
    assert result.layer == "good" and selection["method"] == "nested_cv" and selection["stimuli"] == 12
    assert selection["overlap_with_scored_stimuli"] == 0 and set(selection["per_split_layers"]) == {"good"}
    assert len(result.provenance["per_split"]) == 10 and 0.5 < result.raw < 1
