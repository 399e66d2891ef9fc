"""Science sanity on the real datasets, through the whole platform (slow: one submission of two MobileNets).

- The trained MobileNetV1 beats its untrained twin on the IT, V4 and behaviour aggregates, with one layer per
  region chosen on commitment data disjoint from every scored stimulus (docs/benchmarks.md, reference table).
- ``cortexscore score`` gives the server's number on a benchmark whose scored data is public.
- ``cortexscore score`` exits 0 on every benchmark of the store.
"""
from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cortexscore.cli import app, load_public_benchmark, score_locally

from tests.conftest import EXAMPLES, zip_folder
from tests.e2e.test_walkthrough import submit

REPO = Path(__file__).resolve().parents[2]
GRAPH = REPO.parent / "shared" / "models" / "mobilenet_v1_1.0_224_imagenet.pb"
TRAINED, UNTRAINED = "mobilenet_v1_1.0_224", "mobilenet_v1_1.0_224-untrained"
# The scorer's default batch size: the same batches give the same activations, bit for bit.
SCORER_BATCH_SIZE = 64

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not GRAPH.is_file(), reason=f"{GRAPH} (the MobileNetV1 weights) is not available")]


@pytest.fixture(scope="module")
def mobilenet_root(tmp_path_factory) -> Path:
    from tools.mobilenet.convert import convert
    import torch

    root = tmp_path_factory.mktemp("mobilenet") / "mobilenet_v1"
    shutil.copytree(EXAMPLES / "mobilenet_submission" / "mobilenet_v1", root,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    torch.save(convert(GRAPH), root / "models" / "mobilenet_v1_1.0_224.pt")
    return root


@pytest.fixture(scope="module")
def scored(real_platform, mobilenet_root, tmp_path_factory) -> dict:
    """Both models on the default suite (every leaderboard benchmark)."""
    created = submit(real_platform, zip_folder(mobilenet_root, tmp_path_factory.mktemp("zip") / "mobilenet.zip"))
    body = real_platform.wait_for(created["id"], timeout=2400)
    assert body["status"] == "completed", body
    return body


def test_trained_mobilenet_beats_its_untrained_twin_on_it_v4_and_behaviour(scored):
    rows = sorted((entry["benchmark"], entry["model"], entry["ceiled"], entry["raw"], entry["layer"])
                  for entry in scored["scores"])
    print("\n".join(f"{benchmark} | {model} | {ceiled:.3f} | {raw:.3f} | {layer}"
                    for benchmark, model, ceiled, raw, layer in rows))
    print({model: {node: round(value, 3) for node, value in nodes.items()}
           for model, nodes in scored["aggregate"].items()})
    trained, untrained = scored["aggregate"][TRAINED], scored["aggregate"][UNTRAINED]
    for node in ("IT", "V4", "behavior"):
        assert trained[node] > untrained[node], (node, trained, untrained)


def test_every_neural_score_of_a_region_uses_one_layer_chosen_on_other_stimuli(scored):
    layers = defaultdict(set)
    for entry in scored["scores"]:
        assert entry["status"] == "succeeded", entry
        if entry["provenance"]["kind"] != "neural":
            continue
        selection = entry["provenance"]["layer_selection"]
        assert selection["overlap_with_scored_stimuli"] == 0, entry
        assert selection["stimuli"] > 0 and selection["benchmark"] and selection["layer_scores"]
        layers[entry["model"], entry["region"]].add(entry["layer"])
    assert {regions for _, regions in layers} >= {"V1", "V2", "V4", "IT"}
    assert all(len(chosen) == 1 for chosen in layers.values()), layers


def test_a_local_score_equals_the_server_score_on_public_data(scored, real_platform, mobilenet_root, tmp_path):
    benchmark = "Coggan2024fMRI.V4-rdm"  # all 24 stimuli are public; V4 commits on Bashivan2019's public split
    data = load_public_benchmark(benchmark, store_url=real_platform.store_url, cache_dir=tmp_path / "cache")
    [local] = score_locally(mobilenet_root, data, tmp_path, model_name=TRAINED, batch_size=SCORER_BATCH_SIZE,
                            progress=lambda *_: None, log=lambda _line: None).values()
    [server] = [entry for entry in scored["scores"] if entry["model"] == TRAINED and entry["benchmark"] == benchmark]
    assert local.layer == server["layer"]
    assert local.raw == pytest.approx(server["raw"], abs=1e-9)
    assert local.ceiled == pytest.approx(server["ceiled"], abs=1e-9)
    assert local.provenance["layer_selection"]["overlap_with_scored_stimuli"] == 0


def test_local_scoring_works_on_every_public_benchmark(real_platform, tmp_path):
    model = EXAMPLES / "custom_model_submission" / "my_custom_submission"
    with real_platform.client() as client:
        identifiers = [spec["identifier"] for spec in client.get("/benchmarks").json()]
    assert len(identifiers) >= 12
    runner = CliRunner()
    for identifier in identifiers:
        result = runner.invoke(app, ["score", "--model", str(model), "--benchmark", identifier, "--store-url",
                                     real_platform.store_url, "--cache-dir", str(tmp_path / "cache")])
        assert result.exit_code == 0, (identifier, result.output)
        assert "public data only" in result.output, (identifier, result.output)
