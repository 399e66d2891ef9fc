"""Import-compatible stand-ins for Brain-Score's ``model_tools``, ``brainscore`` and ``brainscore_vision``.

Submissions written for Brain-Score import ``model_tools.activations.pytorch.PytorchWrapper``,
``model_tools.brain_transformation.ModelCommitment`` and friends. The stand-ins live in
:func:`shim_path`, a folder that is *appended* to ``sys.path`` by :func:`enable`, never installed
as top-level packages: a user who has the real Brain-Score packages keeps getting them, because
entries earlier on ``sys.path`` win.

Examples
--------
>>> import sys
>>> with enable():
...     shim_path() in map(pathlib.Path, sys.path)
True
"""
from __future__ import annotations

import pathlib
import sys


def shim_path() -> pathlib.Path:
    """The folder holding the ``model_tools``, ``brainscore`` and ``brainscore_vision`` stand-ins.

    Examples
    --------
    >>> sorted(path.name for path in shim_path().iterdir() if not path.name.startswith("_"))
    ['brainscore', 'brainscore_vision', 'model_tools']
    """
    return pathlib.Path(__file__).resolve().parent / "shims"


class enable:
    """Append :func:`shim_path` to ``sys.path`` (once); as a context manager, remove it again on exit.

    Removing it only affects later imports: modules already imported stay usable.
    """

    def __init__(self):
        self.path = str(shim_path())
        self.added = self.path not in sys.path
        if self.added:
            sys.path.append(self.path)

    def __enter__(self) -> "enable":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.added and self.path in sys.path:
            sys.path.remove(self.path)
