"""Neural predictivity commits one layer per region: benchmarks sharing the region and data share the search."""
import numpy as np

from cortexscore.benchmarks import synthetic
from cortexscore.benchmarks.scoring import score_activations
from cortexscore.benchmarks.spec import BenchmarkSpec, DataRef, FileRef
from cortexscore.models.commitment import LayerCommitments


def synthetic_specs(tmp_path, n_stimuli=400):
    table, _images, assembly = synthetic.generate(tmp_path / "synthetic")
    keep = [index for _, rows in table.groupby("split") for index in rows.index[:round(len(rows) * n_stimuli / len(table))]]
    table = table.loc[sorted(keep)]  # the public/private split kept, at the same proportions
    assembly = assembly.isel(presentation=assembly["stimulus_id"].isin(table["stimulus_id"]).values)
    file = FileRef(key="k", sha256="a" * 64, size=1)
    refs = {"stimulus_set": DataRef(identifier="set", version=1, files={"zip": file}),
            "assembly": DataRef(identifier="assembly", version=1, files={"netcdf": file})}
    specs = [BenchmarkSpec(**refs, **synthetic.benchmark_fields(metric)) for metric in synthetic.METRICS]
    return specs, table, assembly


def layer_features(table, seed=0):
    """Three layers; 'middle' carries the synthetic responses' stimulus-driven part best."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(len(table), 60))
    return {"early": rng.normal(size=(len(table), 80)), "middle": base, "late": base + 3 * rng.normal(size=base.shape)}


def test_a_second_benchmark_of_the_region_reuses_the_commitment_and_scores_the_same(tmp_path):
    specs, table, assembly = synthetic_specs(tmp_path)
    features = layer_features(table)
    lines = []
    commitments = LayerCommitments(tmp_path / "commitments.json")
    shared = [score_activations(spec, assembly, table, features, log=lines.append, commitments=commitments)
              for spec in specs]
    assert sum("reusing the committed layer" in line for line in lines) == 1
    assert sum(line.startswith("layer ") for line in lines) == len(features), "one layer search, not two"
    alone = [score_activations(spec, assembly, table, features, log=lambda _line: None) for spec in specs]
    for reused, fresh in zip(shared, alone):
        assert reused.layer == fresh.layer
        assert reused.provenance["layer_scores"] == fresh.provenance["layer_scores"]
        assert reused.raw == fresh.raw and reused.provenance["selection_metric"] == "pls"
        selection = reused.provenance["layer_selection"]
        assert selection["benchmark"] in {spec.ref for spec in specs} and selection["overlap_with_scored_stimuli"] == 0
        assert selection["stimuli"] == (table["split"] == "public").sum()
    # The search is persisted: a later process (the scorer's next job) starts from the file.
    assert LayerCommitments(tmp_path / "commitments.json").get(
        next(iter(commitments._entries))) == (shared[0].layer, shared[0].provenance["layer_scores"])


def test_other_data_or_other_layers_search_again(tmp_path):
    specs, table, assembly = synthetic_specs(tmp_path)
    features = layer_features(table)
    commitments = LayerCommitments()
    score_activations(specs[0], assembly, table, features, log=lambda _line: None, commitments=commitments)
    other_data = specs[1].model_copy(update={"assembly": specs[1].assembly.model_copy(update={"version": 2})})
    lines = []
    score_activations(other_data, assembly, table, features, log=lines.append, commitments=commitments)
    assert not any("reusing" in line for line in lines)
    lines.clear()
    fewer = {name: features[name] for name in ("early", "late")}
    score_activations(specs[1], assembly, table, fewer, log=lines.append, commitments=commitments)
    assert not any("reusing" in line for line in lines)


def test_a_layer_the_submission_commits_is_used_as_given_and_recorded(tmp_path):
    specs, table, assembly = synthetic_specs(tmp_path)
    result = score_activations(specs[0], assembly, table, layer_features(table), log=lambda _line: None,
                               region_layer_map={"IT": "late"})
    selection = result.provenance["layer_selection"]
    assert result.layer == "late" and selection["user_given"] and selection["method"] == "user"
    assert selection["overlap_with_scored_stimuli"] == 0 and selection["layer_scores"] == {}


def test_overlap_with_the_scored_stimuli_is_counted_by_image_content(tmp_path):
    from cortexscore.benchmarks.commitment import choose_layer, commitment_data

    specs, table, assembly = synthetic_specs(tmp_path)
    table = table.assign(image_path=[str(tmp_path / "synthetic" / "images" / name) for name in table["filename"]])
    features = layer_features(table)
    commitment = commitment_data(specs[0], table, assembly, features)
    private = table[table["split"] == "private"]
    _, disjoint = choose_layer(specs[1], private, list(features), commitment=commitment, log=lambda _line: None)
    assert disjoint["overlap_with_scored_stimuli"] == 0 and disjoint["stimuli"] == len(table) - len(private)
    # The same images under other ids still count: scoring the public split is caught.
    renamed = table[table["split"] == "public"].assign(stimulus_id=lambda rows: "copy-" + rows["stimulus_id"])
    _, overlapping = choose_layer(specs[1], renamed, list(features), commitment=commitment, log=lambda _line: None)
    assert overlapping["overlap_with_scored_stimuli"] == len(renamed) > 0
