"""Shared fixtures: small images on disk and tiny networks."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cortexscore.models.preprocessing import load_preprocess_images

REPO = Path(__file__).resolve().parents[3]


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


class CountingNet(torch.nn.Module):
    """conv -> relu -> flatten -> linear; counts its forward calls."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU())
        self.classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 16 * 16, 30))
        self.forward_calls = 0

    def forward(self, x):
        self.forward_calls += 1
        return self.classifier(self.features(x))


@pytest.fixture
def preprocessing16():
    return functools.partial(load_preprocess_images, image_size=16)
