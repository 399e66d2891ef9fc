"""The local "ready to submit" run: load a submission and put each model through the spec's checks.

On a few generated images each model must have an identifier, 0 < visual_degrees < 9000,
at least 25 features in every candidate layer, a ``look_at`` giving presentation x neuroid
with unique neuroid ids, and probabilities within [0, 1]. ``cortexscore check PATH`` is a thin
wrapper around :func:`check_submission`.
"""
from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from PIL import Image

from cortexscore.models.errors import ModelError
from cortexscore.models.placement import place_images
from cortexscore.models.submission import load_submission
from cortexscore.weights import (DECLARATION_FILE, InvalidWeightsDeclaration, local_problems, parse_declaration,
                                 weights_dir)

SUCCESS_MESSAGE = "Test successful, you are ready to submit!"
CHECK_IMAGES = 6
CHECK_STIMULUS_DEGREES = 4.0
CHECK_REGION = "IT"


def _quiet(text: str) -> None:
    pass


def make_check_images(out_dir: Path, n_images: int = CHECK_IMAGES, size: int = 64) -> pd.DataFrame:
    """Write ``n_images`` small noise images of two colour classes; return their stimulus table.

    Examples
    --------
    >>> table = make_check_images(Path(tempfile.mkdtemp()), n_images=4)
    >>> table["image_label"].tolist()
    ['warm', 'cool', 'warm', 'cool']
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tints = {"warm": np.array([60, 0, -60]), "cool": np.array([-60, 0, 60])}
    rows = []
    for index in range(n_images):
        label = "warm" if index % 2 == 0 else "cool"
        pixels = np.clip(rng.integers(60, 196, size=(size, size, 3)) + tints[label], 0, 255).astype(np.uint8)
        path = out_dir / f"check_{index}.png"
        Image.fromarray(pixels).save(path)
        rows.append({"stimulus_id": f"check_{index}", "image_label": label, "image_path": str(path)})
    return pd.DataFrame(rows)


def check_brain_model(model, workdir: Path, log: Callable[[str], None] = _quiet) -> list[str]:
    """Run the submission checks on one brain model; return the problems found (empty when it passes).

    ``log`` is told each step as it starts.
    """
    name = getattr(model, "identifier", None)
    problems = [] if isinstance(name, str) and name else [f"a model has no identifier (got {name!r}); set one"]
    name = name if problems == [] else "<unnamed>"
    try:
        degrees = float(model.visual_degrees())
    except Exception as error:
        return problems + [f"model '{name}': visual_degrees() raised {type(error).__name__}: {error}"]
    if not 0 < degrees < 9000:
        return problems + [f"model '{name}': visual_degrees() is {degrees}; it must be between 0 and 9000 (8 is usual)"]
    table = make_check_images(workdir / "images")
    table["image_path"] = [str(path) for path in place_images(table["image_path"], workdir / "placed", degrees,
                                                              CHECK_STIMULUS_DEGREES)]
    for description, check in CHECKS:
        log(f"model '{name}': {description}")
        try:
            problem = check(model, table)
        except ModelError as error:
            problem = str(error)
        except Exception as error:
            problem = f"{description} raised {type(error).__name__}: {error}"
        if problem:
            problems.append(f"model '{name}': {problem}")
    return problems


def _check_layers(model, table: pd.DataFrame) -> str | None:
    """Every candidate layer gives at least 25 features per image, from one pass."""
    layers = list(getattr(model, "layers", None) or [])
    if layers:
        # The extractor refuses layers under 25 features and wrong shapes with a ModelError.
        model.activations(list(table["image_path"]), layers)
    return None


def _check_recording(model, table: pd.DataFrame) -> str | None:
    """Recording gives presentation x neuroid with unique neuroid ids."""
    layers = list(getattr(model, "layers", None) or [])
    if hasattr(model, "commit") and layers:
        model.commit(CHECK_REGION, layers[-1])
    model.start_task("passive")
    model.start_recording(CHECK_REGION, [(70, 170)])
    recording = model.look_at(table, number_of_trials=1)
    if not isinstance(recording, xr.DataArray):
        return f"look_at returned {type(recording).__name__}; it must return an xarray DataArray"
    if "time_bin" in recording.dims and recording.sizes["time_bin"] == 1:
        recording = recording.squeeze("time_bin")
    if recording.dims != ("presentation", "neuroid") or recording.sizes["presentation"] != len(table):
        return (f"look_at returned dims {dict(recording.sizes)}; it must return presentation x neuroid with "
                f"one presentation per stimulus ({len(table)})")
    if "neuroid_id" not in recording.coords or "stimulus_id" not in recording.coords:
        return "look_at's result needs a 'stimulus_id' coord on presentation and a 'neuroid_id' coord on neuroid"
    if pd.Index(recording["neuroid_id"].values).has_duplicates:
        return "look_at's neuroid_id values are not unique; each feature needs its own id"
    return None


def _check_probabilities(model, table: pd.DataFrame) -> str | None:
    """The probabilities task gives one row of values in [0, 1] per stimulus."""
    model.start_task("probabilities", table)
    probabilities = model.look_at(table, number_of_trials=1)
    values = np.asarray(probabilities)
    if values.ndim != 2 or values.shape[0] != len(table):
        return f"probabilities have shape {values.shape}; they must be presentation x choice ({len(table)} rows)"
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        return f"probabilities must lie in [0, 1]; got values from {np.nanmin(values)} to {np.nanmax(values)}"
    return None


CHECKS = (("reading the candidate layers", _check_layers), ("look_at while recording", _check_recording),
          ("the probabilities task", _check_probabilities))


def submission_root(path: Path, extract_dir: Path) -> Path:
    """The submission's root folder: ``path`` itself, its single subfolder, or the zip's single root."""
    path = Path(path)
    if path.is_file():
        with zipfile.ZipFile(path) as archive:
            archive.extractall(extract_dir)
        path = extract_dir
    if (path / "models").is_dir():
        return path
    folders = [child for child in path.iterdir() if child.is_dir() and child.name != "__MACOSX"]
    if len(folders) != 1:
        raise ModelError(f"{path.name} must hold exactly one submission folder (with models/ inside); "
                         f"found {[folder.name for folder in folders]}.")
    return folders[0]


def check_submission(path: str | Path, log: Callable[[str], None] = _quiet) -> list[str]:
    """Check a submission folder or zip as ``cortexscore check`` does; return every problem found.

    Prints ``Test successful, you are ready to submit!`` when there is none. ``log`` is told each step as it
    starts (``cortexscore check`` prints them on stderr).
    """
    path = Path(path)
    if not path.exists():
        return [f"{path} does not exist; give the submission folder or its zip"]
    if path.is_file():
        from cortexscore.submission_layout import check_submission_zip

        log(f"checking the zip's safety and layout: {path}")
        report = check_submission_zip(path)
        if report.problems:
            return [problem.message for problem in report.problems]
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cortexscore-check-") as workdir:
        try:
            root = submission_root(path, Path(workdir) / "submission")
            if (root / DECLARATION_FILE).is_file():  # weights uploaded on their own (issue 13)
                log(f"checking {DECLARATION_FILE} against the files in {weights_dir()}")
                found = local_problems(parse_declaration((root / DECLARATION_FILE).read_text()))
                if found:
                    return found
            log(f"importing the submission {root.name}")
            submission = load_submission(root)
            identifiers = submission.model_identifiers()
        except (ModelError, InvalidWeightsDeclaration) as error:
            return [str(error)]
        log(f"{len(identifiers)} model{'s' if len(identifiers) != 1 else ''}: {', '.join(identifiers)}")
        for index, identifier in enumerate(identifiers):
            log(f"model '{identifier}': building it (get_model, get_layers, get_bibtex)")
            try:
                model = submission.brain_model(identifier)
                submission.bibtex(identifier)
            except ModelError as error:
                problems.append(str(error))
                continue
            found = check_brain_model(model, Path(workdir) / f"model_{index}", log)
            log(f"model '{identifier}': " + (f"{len(found)} problem{'s' if len(found) != 1 else ''}" if found
                                             else "passed"))
            problems += found
    if not problems:
        print(SUCCESS_MESSAGE)
    return problems
