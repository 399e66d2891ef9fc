"""MobileNetV1 converted from TensorFlow's GraphDef must classify like the original, and pass the check."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cortexscore.models.check import check_submission
from cortexscore.models.submission import load_submission
from tools.mobilenet.convert import convert

REPO = Path(__file__).resolve().parents[2]
GRAPH = REPO.parent / "shared" / "models" / "mobilenet_v1_1.0_224_imagenet.pb"
SUBMISSION = REPO / "examples" / "mobilenet_submission" / "mobilenet_v1"
# ImageNet class indices (0-999); the graph's output k is class k - 1, after "background".
CATS = {281: "tabby", 282: "tiger cat", 285: "Egyptian cat"}
ESPRESSO = 967

pytestmark = pytest.mark.skipif(not GRAPH.is_file(), reason=f"{GRAPH} is not available")


@pytest.fixture(scope="module")
def submission_with_weights(tmp_path_factory) -> Path:
    expected = (GRAPH.parent / "SHA256SUMS").read_text().split()[0]
    assert hashlib.sha256(GRAPH.read_bytes()).hexdigest() == expected
    root = tmp_path_factory.mktemp("mobilenet") / SUBMISSION.name
    shutil.copytree(SUBMISSION, root, ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    torch.save(convert(GRAPH), root / "models" / "mobilenet_v1_1.0_224.pt")
    return root


def imagenet_predictions(model, photos) -> tuple[np.ndarray, np.ndarray]:
    logits = model.activations(photos, ["logits"])["logits"]
    assert logits.shape == (2, 1001)
    probabilities = torch.from_numpy(logits).softmax(dim=1).numpy()
    return logits.argmax(axis=1) - 1, probabilities.max(axis=1)


def test_trained_mobilenet_sees_a_cat_and_an_espresso(submission_with_weights, skimage_photos):
    model = load_submission(submission_with_weights).brain_model("mobilenet_v1_1.0_224")
    (chelsea, coffee), confidence = imagenet_predictions(model, skimage_photos)
    assert chelsea in CATS and coffee == ESPRESSO
    assert (confidence > 0.5).all()


def test_untrained_twin_does_not(submission_with_weights, skimage_photos):
    model = load_submission(submission_with_weights).brain_model("mobilenet_v1_1.0_224-untrained")
    (chelsea, coffee), confidence = imagenet_predictions(model, skimage_photos)
    assert not (chelsea in CATS and coffee == ESPRESSO)
    assert (confidence < 0.1).all()


def test_mobilenet_submission_passes_the_check(submission_with_weights, capsys):
    assert check_submission(submission_with_weights) == []
    assert "Test successful, you are ready to submit!" in capsys.readouterr().out


def test_missing_weights_are_reported(tmp_path):
    root = tmp_path / SUBMISSION.name
    shutil.copytree(SUBMISSION, root, ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    problems = check_submission(root)
    assert len(problems) == 1 and "get_model('mobilenet_v1_1.0_224') raised FileNotFoundError" in problems[0]
