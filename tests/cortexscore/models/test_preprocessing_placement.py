from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cortexscore.models.placement import place_images
from cortexscore.models.preprocessing import IMAGENET_MEAN, IMAGENET_STD, load_preprocess_images


def test_preprocessing_resizes_scales_and_normalises(image_paths):
    batch = load_preprocess_images(image_paths[:2], image_size=10)
    with Image.open(image_paths[0]) as image:
        resized = np.asarray(image.convert("RGB").resize((10, 10), Image.BILINEAR)) / 255
    expected = (resized - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    assert batch.shape == (2, 3, 10, 10) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0], expected.transpose(2, 0, 1), rtol=1e-5, atol=1e-5)


def test_preprocessing_converts_grey_and_alpha_images(tmp_path):
    Image.new("L", (5, 5), 255).save(tmp_path / "grey.png")
    Image.new("RGBA", (5, 5), (255, 255, 255, 0)).save(tmp_path / "alpha.png")
    batch = load_preprocess_images([tmp_path / "grey.png", tmp_path / "alpha.png"], image_size=4)
    np.testing.assert_allclose(batch[0], batch[1])


def test_smaller_stimulus_is_pasted_centred_on_grey(tmp_path):
    Image.new("RGB", (10, 10), (255, 0, 0)).save(tmp_path / "red.png")
    [placed] = place_images([tmp_path / "red.png"], tmp_path / "out", model_degrees=8, stimulus_degrees=5)
    pixels = np.asarray(Image.open(placed))
    assert pixels.shape == (16, 16, 3)
    assert tuple(pixels[0, 0]) == (128, 128, 128)
    assert (pixels[3:13, 3:13] == [255, 0, 0]).all() and tuple(pixels[2, 2]) == (128, 128, 128)


def test_larger_stimulus_is_centre_cropped(tmp_path):
    pixels = np.zeros((20, 20, 3), dtype=np.uint8)
    pixels[5:15, 5:15] = 255
    Image.fromarray(pixels).save(tmp_path / "square.png")
    [placed] = place_images([tmp_path / "square.png"], tmp_path / "out", model_degrees=4, stimulus_degrees=8)
    assert (np.asarray(Image.open(placed)) == 255).all()


def test_placement_names_are_deterministic_and_reused(tmp_path, image_paths):
    first = place_images(image_paths, tmp_path / "out", 8, 10)
    second = place_images(image_paths, tmp_path / "out", 8, 10)
    assert first == second and len(set(first)) == len(image_paths)
    assert place_images(image_paths, tmp_path / "out", 8, 8) == image_paths


def test_placement_refuses_non_positive_degrees(image_paths, tmp_path):
    with pytest.raises(ValueError, match="stimulus_degrees must be a positive"):
        place_images(image_paths, tmp_path, 8, 0)
