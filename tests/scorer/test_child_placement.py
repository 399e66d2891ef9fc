"""Issue 16: the child places stimuli in memory; the activations equal those of the PNG round trip, bit for bit."""
import functools

import numpy as np
import pytest
import torch
from PIL import Image

from cortexscore.models.committed_model import CommittedModel
from cortexscore.models.activations import PytorchActivations
from cortexscore.models.placement import place_images
from cortexscore.models.preprocessing import load_preprocess_images
from scorer.child import _activations, _in_memory_preprocessing


def _model(preprocessing) -> CommittedModel:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, stride=3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 10 * 10, 30))
    return CommittedModel("tiny", PytorchActivations(net, preprocessing, "tiny"), ["0", "1"], visual_degrees=8)


@pytest.mark.parametrize("stimulus_degrees", [4, 8, 10.5])
def test_in_memory_placement_gives_the_activations_of_the_png_round_trip(tmp_path, stimulus_degrees):
    rng = np.random.default_rng(0)
    paths = []
    for index, (mode, size) in enumerate([("RGB", (40, 30)), ("L", (33, 33)), ("RGBA", (20, 50)), ("P", (17, 23))]):
        image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)
        path = tmp_path / f"image{index}.{'jpg' if mode in ('RGB', 'L') else 'png'}"
        image.save(path)
        paths.append(str(path))
    model = _model(functools.partial(load_preprocess_images, image_size=32))
    assert _in_memory_preprocessing(model, 8, stimulus_degrees) is not None
    layers = ["0", "logits"]
    ours = _activations(model, paths, layers, tmp_path / "unused", stimulus_degrees, batch_size=3)
    placed = place_images(paths, tmp_path / "placed", 8, stimulus_degrees)
    files = model.activations([str(path) for path in placed], layers, batch_size=3)
    assert not (tmp_path / "unused").exists(), "no placed file is written"
    for layer in layers:
        np.testing.assert_array_equal(ours[layer], files[layer])


def test_another_preprocessing_still_gets_placed_files(tmp_path):
    seen = []

    def preprocessing(paths):
        seen.extend(paths)
        return load_preprocess_images(paths, image_size=32)

    Image.new("RGB", (20, 20), (10, 200, 30)).save(tmp_path / "a.png")
    model = _model(preprocessing)
    assert _in_memory_preprocessing(model, 8, 4) is None
    _activations(model, [str(tmp_path / "a.png")], ["0"], tmp_path / "placed", 4, batch_size=2)
    assert seen and all(str(tmp_path / "placed") in path for path in seen)
