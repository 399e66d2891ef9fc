"""Load a user's submission folder and turn each of its models into a :class:`BrainModel`.

Two layouts are accepted (see ``api-contract.md``):

- ``tutorial``: ``root/models/base_models.py`` defines ``get_model_list()``, ``get_model(name)``,
  ``get_layers(name)`` and ``get_bibtex(name)``. ``get_model`` usually returns a
  ``PytorchWrapper``; it is committed with ``get_layers(name)`` at 8 visual degrees.
- ``plugin``: each ``root/models/<name>/__init__.py`` registers
  ``model_registry['<name>'] = lambda: <BrainModel>``.

This imports and runs the user's code: the scorer calls it in a sandboxed child process.
The compatibility shims (``model_tools``, ``brainscore``, ``brainscore_vision``) are
appended to ``sys.path`` first, so that real Brain-Score packages, if installed, win.
"""
from __future__ import annotations

import functools
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import torch

from cortexscore import compat
from cortexscore.models import model_registry
from cortexscore.models.activations import PytorchActivations
from cortexscore.models.committed_model import DEFAULT_VISUAL_DEGREES, CommittedModel
from cortexscore.models.errors import ModelError
from cortexscore.models.preprocessing import load_preprocess_images

TUTORIAL_FUNCTIONS = ("get_model_list", "get_model", "get_layers", "get_bibtex")
BRAIN_MODEL_METHODS = ("visual_degrees", "start_task", "start_recording", "look_at")
# The package name both layouts import the user's code under.
PACKAGE = "models"
_roots_on_path: list[str] = []
# The seed of the random generators the user's code starts from (Python's, NumPy's global and torch's).
USER_CODE_SEED = 0


def seed_user_code() -> None:
    """Seed the generators a model's construction may draw from, before the user's code runs.

    A submission that leaves weights to their random initialisation (the tutorial's ``MyModel`` does) is then
    the same network in every process that builds it: the scorer's sandboxed child, a retry, and ``cortexscore
    score`` locally. Without it each process scored a different random network, so a local score could not
    equal the platform's. It changes nothing for a model whose weights are loaded or seeded by its own code.
    """
    import random

    import numpy as np

    random.seed(USER_CODE_SEED)
    np.random.seed(USER_CODE_SEED)
    torch.manual_seed(USER_CODE_SEED)


def _check_root(root: Path) -> str:
    if not root.is_dir():
        raise ModelError(f"the submission folder {root} does not exist or is not a folder.")
    if (root / PACKAGE / "base_models.py").is_file():
        return "tutorial"
    if any(path.is_file() for path in (root / PACKAGE).glob("*/__init__.py")):
        return "plugin"
    raise ModelError(f"{root.name} holds neither models/base_models.py (tutorial layout) nor "
                     "models/<name>/__init__.py (plugin layout); put your code in one of them.")


def is_brain_model(candidate) -> bool:
    """True for anything with the BrainModel methods, ours or a user's own class."""
    return all(callable(getattr(candidate, method, None)) for method in BRAIN_MODEL_METHODS)


@dataclass
class Submission:
    """The models of one loaded submission folder."""

    root: Path
    layout: str
    module: ModuleType | None = None
    registry: dict = field(default_factory=dict)
    # plugin layout: model identifier -> the models/<package> that registered it
    packages: dict = field(default_factory=dict)

    def model_identifiers(self) -> list[str]:
        """The model names, in the order the submission gives them."""
        if self.layout == "plugin":
            return list(self.registry)
        names = _call_user(self.module.get_model_list, "get_model_list()")
        if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names \
                or not all(isinstance(name, str) and name for name in names):
            raise ModelError(f"get_model_list() must return a non-empty list of model names; got {names!r}.")
        return list(names)

    def brain_model(self, identifier: str):
        """The committed brain model called ``identifier``."""
        known = self.model_identifiers()
        if identifier not in known:
            raise ModelError(f"the submission has no model '{identifier}'; it has {known}.")
        seed_user_code()
        if self.layout == "plugin":
            model = _call_user(self.registry[identifier], f"model_registry['{identifier}']()")
            if not is_brain_model(model):
                raise ModelError(f"model_registry['{identifier}']() returned {type(model).__name__}, not a brain "
                                 f"model; wrap it with ModelCommitment(identifier, activations_model, layers).")
            return model
        return tutorial_brain_model(self.module, identifier)

    def bibtex(self, identifier: str) -> str:
        """The model's BibTeX entry, or an empty string when the submission gives none."""
        if self.layout == "tutorial":
            value = _call_user(functools.partial(self.module.get_bibtex, identifier), f"get_bibtex('{identifier}')")
        else:
            value = _plugin_bibtex(identifier, self.packages.get(identifier, identifier))
        return "" if value is None else str(value)


def tutorial_brain_model(module: ModuleType, identifier: str):
    """Commit ``get_model(identifier)`` of a tutorial-layout module with ``get_layers(identifier)``.

    ``get_model`` may return a ``PytorchWrapper`` (the tutorial's way), a bare ``torch.nn.Module``
    (wrapped with the default 224-pixel preprocessing) or a ready brain model (returned as is).
    """
    base_model = _call_user(functools.partial(module.get_model, identifier), f"get_model('{identifier}')")
    if is_brain_model(base_model):
        return base_model
    layers = _call_user(functools.partial(module.get_layers, identifier), f"get_layers('{identifier}')")
    if isinstance(base_model, torch.nn.Module):
        # A bare network: wrap it with the default ImageNet preprocessing at 224 pixels.
        base_model = PytorchActivations(base_model, functools.partial(load_preprocess_images, image_size=224),
                                        identifier)
    return CommittedModel(identifier, base_model, layers, visual_degrees=DEFAULT_VISUAL_DEGREES)


def _call_user(function, description: str):
    """Call user code, turning any exception into a ModelError that names the call."""
    try:
        return function()
    except ModelError:
        raise
    except (Exception, SystemExit) as error:
        raise ModelError(f"{description} raised {type(error).__name__}: {error}") from error


def _isolate(root: Path) -> None:
    """Make ``models`` resolve to this submission's package, forgetting any other submission's."""
    for loaded in [module for module in sys.modules if module == PACKAGE or module.startswith(PACKAGE + ".")]:
        del sys.modules[loaded]
    for previous in _roots_on_path:
        if previous in sys.path:
            sys.path.remove(previous)
    _roots_on_path[:] = [str(root)]
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()


def _import_user_module(root: Path, name: str) -> ModuleType:
    source = root / Path(*name.split("."))
    source = source / "__init__.py" if source.is_dir() else source.with_suffix(".py")
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit) as error:
        raise ModelError(f"importing {source.relative_to(root.parent)} failed with {type(error).__name__}: "
                         f"{error}") from error


def _plugin_bibtex(identifier: str, package: str):
    """``get_bibtex(identifier)`` or ``BIBTEX`` from models/<package>/__init__.py or its model.py."""
    for module_name in (f"{PACKAGE}.{package}", f"{PACKAGE}.{package}.model"):
        module = sys.modules.get(module_name)
        if module is None:
            continue
        if callable(getattr(module, "get_bibtex", None)):
            return _call_user(functools.partial(module.get_bibtex, identifier), f"{module_name}.get_bibtex()")
        if isinstance(getattr(module, "BIBTEX", None), str):
            return module.BIBTEX
    return ""


def load_submission(root: Path) -> Submission:
    """Import a submission's code from its root folder (the single folder inside the zip).

    Raises
    ------
    ModelError
        When the layout is not recognised, the code fails to import, or the tutorial
        functions are missing; the message names the file and the cause.
    """
    root = Path(root).resolve()
    layout = _check_root(root)
    compat.enable()
    _isolate(root)
    seed_user_code()
    if layout == "tutorial":
        module = _import_user_module(root, f"{PACKAGE}.base_models")
        missing = [name for name in TUTORIAL_FUNCTIONS if not callable(getattr(module, name, None))]
        if missing:
            raise ModelError(f"models/base_models.py must define {', '.join(f + '()' for f in TUTORIAL_FUNCTIONS)}; "
                             f"missing: {', '.join(missing)}.")
        return Submission(root, layout, module=module)
    model_registry.clear()
    plugins = sorted(path.parent.name for path in (root / PACKAGE).glob("*/__init__.py"))
    packages = {}
    for plugin in plugins:
        _import_user_module(root, f"{PACKAGE}.{plugin}")
        packages.update({identifier: plugin for identifier in model_registry if identifier not in packages})
    if not model_registry:
        raise ModelError(f"no model was registered: each models/<name>/__init__.py must run "
                         f"model_registry['<name>'] = lambda: <BrainModel> (found {plugins}).")
    return Submission(root, layout, registry=dict(model_registry), packages=packages)
