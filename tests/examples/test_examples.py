"""Every shipped example submission must pass `cortexscore check`, folder and zip alike."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from cortexscore.models.check import SUCCESS_MESSAGE, check_submission
from cortexscore.models.submission import load_submission

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TUTORIAL = EXAMPLES.parents[1] / "shared" / "docs" / "brain-score-tutorial.rst"
SUBMISSIONS = {
    "custom": EXAMPLES / "custom_model_submission" / "my_custom_submission",
    "alexnet": EXAMPLES / "alexnet_submission" / "my_alexnet_submission",
    "template": EXAMPLES / "template_submission" / "my_submission",
    "pixels": EXAMPLES / "pixels_submission" / "pixels",
}


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_example_passes_the_check_as_a_zip(name, tmp_path, capsys):
    folder = SUBMISSIONS[name]
    archive = shutil.make_archive(str(tmp_path / folder.name), "zip", folder.parent, folder.name)
    assert check_submission(archive) == []
    assert capsys.readouterr().out.strip().splitlines()[-1] == SUCCESS_MESSAGE


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_example_has_the_tutorial_layout(name):
    folder = SUBMISSIONS[name]
    for required in ("__init__.py", "setup.py", "models/__init__.py", "models/base_models.py"):
        assert (folder / required).is_file(), required


def test_custom_example_is_the_tutorial_code_verbatim():
    if not TUTORIAL.is_file():
        pytest.skip("the shared docs are not beside the repository")
    lines = TUTORIAL.read_text().splitlines()
    start = lines.index("    # Custom Pytorch model from:")
    end = next(i for i, line in enumerate(lines) if "check_models.check_base_models(__name__)" in line)
    expected = textwrap.dedent("\n".join(lines[start:end + 1])) + "\n"
    assert (SUBMISSIONS["custom"] / "models" / "base_models.py").read_text() == expected


def test_alexnet_example_has_the_tutorial_layers_and_bibtex():
    submission = load_submission(SUBMISSIONS["alexnet"])
    model = submission.brain_model("alexnet")
    assert model.layers[0] == "features.2" and model.layers[-1] == "classifier.5"
    assert "Krizhevsky" in submission.bibtex("alexnet")


def test_pixels_baseline_is_the_downsampled_image(tmp_path):
    from PIL import Image

    path = tmp_path / "half.png"
    image = Image.new("RGB", (64, 64), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 64, 32))  # top half blue, bottom half red
    image.save(path)
    model = load_submission(SUBMISSIONS["pixels"]).brain_model("pixels")
    assert model.layers == ["pixels"]
    pixels = model.activations([str(path)], ["pixels"])["pixels"].reshape(3, 32, 32)
    assert abs(pixels[2, :15].mean() - 1) < 0.01 and abs(pixels[0, 17:].mean() - 1) < 0.01
    assert abs(pixels[0, :15].mean()) < 0.01 and abs(pixels[2, 17:].mean()) < 0.01
