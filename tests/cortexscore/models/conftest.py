"""Shared fixtures: small images on disk and tiny networks."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cortexscore.models.preprocessing import load_preprocess_images


@pytest.fixture
def image_paths(tmp_path) -> list[Path]:
    """Five 20x20 noise images, written as PNG."""
    rng = np.random.default_rng(0)
    paths = []
    for index in range(5):
        path = tmp_path / f"image_{index}.png"
        Image.fromarray(rng.integers(0, 256, size=(20, 20, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def preprocessing16():
    return functools.partial(load_preprocess_images, image_size=16)
