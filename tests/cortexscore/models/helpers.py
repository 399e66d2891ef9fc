"""Helpers shared by the model tests: a tiny counting network and tutorial-layout submissions."""
from __future__ import annotations

from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[3]
CUSTOM_EXAMPLE = REPO / "examples" / "custom_model_submission" / "my_custom_submission"


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


TINY_BASE_MODELS = '''
import functools
import torch
from model_tools.activations.pytorch import PytorchWrapper, load_preprocess_images
from model_tools.check_submission import check_models

class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3)
        self.relu = torch.nn.ReLU()
        {extra_init}

    def forward(self, x):
        {forward}

def get_model_list():
    return ['tiny']

def get_model(name):
    return PytorchWrapper(identifier=name, model=Tiny(), preprocessing=functools.partial(load_preprocess_images, image_size=16))

def get_layers(name):
    return {layers}

def get_bibtex(name):
    return '@misc{{tiny}}'
'''


def write_tutorial(root: Path, forward="return self.relu(self.conv(x))", layers="['conv', 'relu']", extra_init="",
                   source=None) -> Path:
    """Write a tutorial-layout submission of a two-layer net (or of ``source``) under ``root``."""
    (root / "models").mkdir(parents=True)
    for name in ("__init__.py", "models/__init__.py"):
        (root / name).write_text("\n")
    (root / "setup.py").write_text("from setuptools import setup\nsetup(name='tiny')\n")
    source = source or TINY_BASE_MODELS.format(forward=forward, layers=layers, extra_init=extra_init)
    (root / "models" / "base_models.py").write_text(source)
    return root
