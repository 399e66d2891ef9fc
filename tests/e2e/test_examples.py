"""The tutorial's two examples get real scores through POST /submissions; broken models fail naming the cause.

Everything is submitted up front so that the session's one scorer works through the queue while the
test waits; each assertion then reads one submission's outcome.
"""
from __future__ import annotations

import math

import pytest

from tests.conftest import EXAMPLES, zip_folder
from tests.zips import tiny_model_source, tutorial_files, write_zip

BENCHMARK = "Synthetic2026.IT-pls"
EXAMPLE_FOLDERS = {
    "alexnet": (EXAMPLES / "alexnet_submission" / "my_alexnet_submission", ["features.2", "features.5", "features.7",
                                                                           "features.9", "features.12",
                                                                           "classifier.2", "classifier.5"]),
    "my-model": (EXAMPLES / "custom_model_submission" / "my_custom_submission", ["conv1", "relu1", "relu2"]),
}
# Each broken model, as (base_models.py, words the failure message must contain). The tiny model's conv1
# has an 8x8 kernel with stride 8 on 64x64 images: 4 channels x 8 x 8 = 256 features.
BROKEN_MODELS = {
    "missing_layer": (tiny_model_source("missing_layer").replace('return ["conv1"]', 'return ["conv9"]'),
                      ["no layer 'conv9'", "conv1"]),
    "few_features": (tiny_model_source("few_features", forward_hook="x = x[:, :, :8, :8]"),
                     ["layer 'conv1'", "4 features per image", "at least 25"]),
    "forward_raises": (tiny_model_source("forward_raises", forward_hook='raise RuntimeError("boom in forward")'),
                       ["RuntimeError", "during forward", "boom in forward"]),
    "wrong_shape": (tiny_model_source("wrong_shape", forward_hook="x = x[:1]"),
                    ["layer 'conv1'", "returned shape (1, 4, 8, 8)", "first dimension must be the batch"]),
}


def submit(platform, path) -> str:
    with platform.client() as client, open(path, "rb") as handle:
        response = client.post("/submissions", files={"file": (path.name, handle, "application/zip")},
                               data={"benchmarks": BENCHMARK})
    assert response.status_code == 202, response.text
    return response.json()["id"]


@pytest.fixture(scope="module")
def submitted(platform, tmp_path_factory) -> dict[str, str]:
    """Submission ids by name: the broken models first (they fail in seconds), then the two examples."""
    folder = tmp_path_factory.mktemp("example_zips")
    zips = {name: write_zip(folder / f"{name}.zip", tutorial_files(root=name, **{"models/base_models.py": source}))
            for name, (source, _) in BROKEN_MODELS.items()}
    zips.update({name: zip_folder(path, folder / f"{path.name}.zip") for name, (path, _) in EXAMPLE_FOLDERS.items()})
    return {name: submit(platform, path) for name, path in zips.items()}


@pytest.mark.parametrize("name", sorted(EXAMPLE_FOLDERS))
def test_tutorial_example_gets_real_scores(platform, submitted, name):
    body = platform.wait_for(submitted[name], timeout=900)
    [score] = body["scores"]
    assert body["status"] == "completed" and score["status"] == "succeeded", body
    assert score["model"] == name and score["benchmark"] == BENCHMARK
    for field in ("raw", "ceiling", "ceiled", "error"):
        assert isinstance(score[field], float) and math.isfinite(score[field]), (field, score)
    assert 0 < score["ceiling"] <= 1 and score["raw"] > 0.05, score
    layers = EXAMPLE_FOLDERS[name][1]
    assert score["layer"] in layers and sorted(score["provenance"]["layer_scores"]) == sorted(layers)


@pytest.mark.parametrize("name", sorted(BROKEN_MODELS))
def test_broken_model_fails_naming_the_cause(platform, submitted, name):
    body = platform.wait_for(submitted[name], timeout=900)
    [score] = body["scores"]
    assert body["status"] == "failed" and score["status"] == "failed", body
    for words in BROKEN_MODELS[name][1]:
        assert words in score["message"], (words, score["message"])
