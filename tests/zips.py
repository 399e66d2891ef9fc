"""Build submission zips for tests, valid or broken in one named way."""
from __future__ import annotations

import zipfile
from pathlib import Path

BASE_MODELS = '''
from model_tools.check_submission import check_models

MODEL_NAME = "tiny"


def get_model_list():
    return [MODEL_NAME]


def get_model(name):
    raise NotImplementedError


def get_layers(name):
    return ["conv1"]


def get_bibtex(model_identifier):
    return ""
'''


def tutorial_files(root: str = "my_submission", **overrides) -> dict[str, str | None]:
    files: dict[str, str | None] = {
        f"{root}/__init__.py": "\n",
        f"{root}/setup.py": "from setuptools import setup\nsetup(name='my_submission')\n",
        f"{root}/models/__init__.py": "\n",
        f"{root}/models/base_models.py": BASE_MODELS,
    }
    for name, content in overrides.items():
        files[f"{root}/{name}"] = content
    return files


def write_zip(path: Path, files: dict[str, str | bytes | None]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            if content is not None:
                archive.writestr(name, content)
    return path


# The module functions of a submission's base_models.py with one model, ``model``, and one layer.
MODEL_FUNCTIONS = '''

def get_model_list():
    return ["{name}"]


def get_model(name):
    return model


def get_layers(name):
    return ["{layer}"]


def get_bibtex(name):
    return ""
'''

TINY_MODEL = '''
import functools
import torch
from model_tools.activations.pytorch import PytorchWrapper, load_preprocess_images


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed({seed})
        self.conv1 = torch.nn.Conv2d(3, 4, kernel_size=8, stride=8)

    def forward(self, x):
{hook}
        return self.conv1(x)


model = PytorchWrapper(identifier="{name}", model=Tiny(),
                       preprocessing=functools.partial(load_preprocess_images, image_size=64))

''' + MODEL_FUNCTIONS.replace("{layer}", "conv1")


def tiny_model_source(name: str, forward_hook: str = "pass", seed: int = 0) -> str:
    """``base_models.py`` of a model that scores in seconds; ``forward_hook`` runs at the start of each forward."""
    hook = "\n".join("        " + line for line in forward_hook.splitlines())
    return TINY_MODEL.replace("{hook}", hook).replace("{name}", name).replace("{seed}", str(seed))


WIDE_MODEL = '''
import functools
import torch
from model_tools.activations.pytorch import PytorchWrapper, load_preprocess_images


class Tile(torch.nn.Module):
    """Its input's 320 features repeated to {features}, each copy scaled by a fixed ramp: wide, but cheap to compute."""

    def __init__(self, n_features):
        super().__init__()
        self.copies = n_features // 320
        self.register_buffer("ramp", torch.linspace(1.0, 2.0, n_features))

    def forward(self, x):
        return x.flatten(1).repeat(1, self.copies).mul_(self.ramp)


class Wide(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = torch.nn.Conv2d(3, 5, kernel_size=8, stride=8)
        self.wide = Tile({features})

    def forward(self, x):
        return self.wide(self.conv1(x))


model = PytorchWrapper(identifier="{name}", model=Wide(),
                       preprocessing=functools.partial(load_preprocess_images, image_size=64))

''' + MODEL_FUNCTIONS.replace("{layer}", "wide")


def wide_model_source(name: str, n_features: int) -> str:
    """``base_models.py`` of a model with one layer, ``wide``, of ``n_features`` (a multiple of 320) features."""
    if n_features % 320:
        raise ValueError(f"n_features must be a multiple of 320; got {n_features}")
    return WIDE_MODEL.replace("{name}", name).replace("{features}", str(n_features))
