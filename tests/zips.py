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


def get_model_list():
    return ["{name}"]


def get_model(name):
    return model


def get_layers(name):
    return ["conv1"]


def get_bibtex(name):
    return ""
'''


def tiny_model_source(name: str, forward_hook: str = "pass", seed: int = 0) -> str:
    """``base_models.py`` of a model that scores in seconds; ``forward_hook`` runs at the start of each forward."""
    hook = "\n".join("        " + line for line in forward_hook.splitlines())
    return TINY_MODEL.replace("{hook}", hook).replace("{name}", name).replace("{seed}", str(seed))
