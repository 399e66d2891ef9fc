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
