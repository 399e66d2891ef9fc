from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.cortexscore.models.helpers import CountingNet
from cortexscore.models.activations import PytorchActivations, neuroid_ids
from cortexscore.models.errors import ModelError


def test_all_layers_come_from_one_forward_pass_per_batch(image_paths, preprocessing16):
    net = CountingNet()
    extractor = PytorchActivations(net, preprocessing16, "counting")
    features = extractor.activations(image_paths, ["features.0", "features.1", "logits"], batch_size=2)
    assert net.forward_calls == 3  # ceil(5 / 2) batches, all layers at once
    assert {layer: values.shape for layer, values in features.items()} == {
        "features.0": (5, 1024), "features.1": (5, 1024), "logits": (5, 30)}
    assert all(values.dtype == np.float32 for values in features.values())


def test_features_do_not_depend_on_batch_size_and_match_a_plain_forward(image_paths, preprocessing16):
    net = CountingNet()
    extractor = PytorchActivations(net, preprocessing16, "counting")
    by_two = extractor.activations(image_paths, ["logits", "features.1"], batch_size=2)
    at_once = extractor.activations(image_paths, ["logits", "features.1"], batch_size=64)
    with torch.no_grad():
        expected = net(torch.from_numpy(preprocessing16(image_paths))).numpy()
    np.testing.assert_allclose(by_two["logits"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(at_once["logits"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(by_two["features.1"], at_once["features.1"], rtol=1e-5, atol=1e-6)
    assert (by_two["features.1"] >= 0).all()


def test_logits_is_the_last_leaf_module(image_paths, preprocessing16):
    extractor = PytorchActivations(CountingNet(), preprocessing16, "counting")
    features = extractor.activations(image_paths, ["logits", "classifier.1"])
    np.testing.assert_array_equal(features["logits"], features["classifier.1"])


def test_progress_reports_each_batch(image_paths, preprocessing16):
    calls = []
    PytorchActivations(CountingNet(), preprocessing16).activations(
        image_paths, ["logits"], batch_size=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_neuroid_ids_name_model_layer_and_index():
    assert neuroid_ids("m", "a.b", 2) == ["m.a.b.0", "m.a.b.1"]


def test_missing_layer_lists_the_available_modules(image_paths, preprocessing16):
    extractor = PytorchActivations(CountingNet(), preprocessing16, "counting")
    with pytest.raises(ModelError, match=r"no layer 'features\.7'.*features\.0, features\.1, classifier"):
        extractor.activations(image_paths, ["features.7"])


def test_small_layer_is_refused_with_its_size(image_paths, preprocessing16):
    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten())  # 3 x 2 x 2 = 12 features
    with pytest.raises(ModelError, match=r"layer '1' of model 'tiny' gives 12 features .* at least 25"):
        PytorchActivations(net, preprocessing16, "tiny").activations(image_paths, ["1"])


class Exploding(torch.nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def test_exception_in_forward_names_model_and_layer(image_paths, preprocessing16):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), Exploding())
    with pytest.raises(ModelError, match=r"model 'bad' raised RuntimeError in layer '1' .*\(5, 3, 16, 16\): boom"):
        PytorchActivations(net, preprocessing16, "bad").activations(image_paths, ["0"])


class BatchMixer(torch.nn.Module):
    def forward(self, x):
        return x.reshape(1, -1)


def test_output_without_batch_dimension_is_refused(image_paths, preprocessing16):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), BatchMixer())
    with pytest.raises(ModelError, match=r"layer '1' .* returned shape \(1, 1960\) for a batch of 5 images"):
        PytorchActivations(net, preprocessing16, "mixer").activations(image_paths, ["1"])


def test_preprocessing_with_wrong_row_count_is_refused(image_paths):
    extractor = PytorchActivations(CountingNet(), lambda paths: np.zeros((1, 3, 16, 16)), "counting")
    with pytest.raises(ModelError, match=r"preprocessing .* returned shape \(1, 3, 16, 16\) for 5 images"):
        extractor.activations(image_paths, ["logits"])


def test_unused_module_is_reported(image_paths, preprocessing16):
    net = CountingNet()
    net.unused = torch.nn.Linear(2, 2)
    with pytest.raises(ModelError, match=r"layer 'unused' .* never called"):
        PytorchActivations(net, preprocessing16, "counting").activations(image_paths, ["unused"])


def test_images_of_different_sizes_without_resizing_are_refused(tmp_path):
    from PIL import Image

    for index, size in enumerate((8, 12)):
        Image.new("RGB", (size, size)).save(tmp_path / f"{index}.png")
    unresized = lambda paths: np.stack([np.asarray(Image.open(p), dtype=np.float32).transpose(2, 0, 1) for p in paths])
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten())
    with pytest.raises(ModelError, match=r"layer '1' .* gave 72 features per image on earlier images but 200"):
        PytorchActivations(net, unresized, "n").activations([tmp_path / "0.png", tmp_path / "1.png"], ["1"],
                                                             batch_size=1)
