"""``brainscore.score_model`` scores a tutorial-style brain model locally on the synthetic benchmark."""
from __future__ import annotations

import functools

import pytest

from cortexscore.benchmarks.synthetic import SyntheticFeatureNet
from cortexscore.compat.tutorial import ModelCommitment, PytorchWrapper, score_model
from cortexscore.models.errors import ModelError
from cortexscore.models.preprocessing import load_preprocess_images


@pytest.fixture(scope="module")
def matching_model():
    """The network the synthetic population reads out, committed as the tutorial commits a model."""
    wrapper = PytorchWrapper(identifier="synthetic-match", model=SyntheticFeatureNet(),
                             preprocessing=functools.partial(load_preprocess_images, image_size=224))
    return ModelCommitment(identifier="synthetic-match", activations_model=wrapper, layers=["relu1", "features"])


def test_the_matching_model_scores_near_the_ceiling_on_its_layer(matching_model, capsys):
    score = score_model("synthetic-match", "Synthetic2026.IT-ridge", matching_model)
    assert score.attrs["layer"] == "features" and score.attrs["benchmark"] == "Synthetic2026.IT-ridge"
    assert 0 < score.attrs["ceiling"] <= 1 and score.attrs["raw"] > 0.5
    assert float(score) > 0.8, score
    assert "committed layer features" in capsys.readouterr().out


def test_a_benchmark_without_local_data_names_the_command_to_use(matching_model):
    with pytest.raises(NotImplementedError, match="cortexscore score --model"):
        score_model("synthetic-match", "MajajHong2015public.IT-pls", matching_model)


def test_an_activations_model_instead_of_a_brain_model_is_refused(matching_model):
    with pytest.raises(ModelError, match="ModelCommitment"):
        score_model("synthetic-match", "Synthetic2026.IT-pls", object())
