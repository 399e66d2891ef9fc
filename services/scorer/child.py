"""Runs inside the sandboxed child process: imports the user's submission and writes activations.

It receives only image paths and writes only activations: assemblies, private
splits and credentials never reach this process. Input is a JSON request naming one
model and every stimulus set the scorer wants of it (a model session: one import for all
of a model's jobs); output is ``result.json`` plus one ``.npy`` per stimulus set and layer, or ``error.json``.
A PyTorch model's activations are written a batch at a time, so however wide a layer is, this
process holds one batch of it; the forward passes run on the GPU when the sandbox shows one.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
import zipfile
from pathlib import Path

IMPORTED_MARKER = "imported"
RESULT_FILE = "result.json"
ERROR_FILE = "error.json"


def activations_file(index: int, layer_index: int) -> str:
    """The fixed name of the activations of the request's ``index``-th stimulus set in its ``layer_index``-th layer.

    >>> activations_file(0, 2)
    'activations-0-2.npy'
    """
    return f"activations-{index}-{layer_index}.npy"


def _log(message: str) -> None:
    print(f"[model] {message}", flush=True)


PREFLIGHT_IMAGES = 4


def _in_memory_preprocessing(model, model_degrees: float, stimulus_degrees: float):
    """The model's extractor and a preprocessing that places each image in memory, or None.

    Only for the platform's own default preprocessing (``load_preprocess_images`` bound to a size): it then
    decodes, places and resizes each image once, with no PNG written and read back. PNG is lossless and the
    placed image is RGB, so the pixels are those the file round trip gives. Any other preprocessing gets files.
    """
    import functools

    from PIL import Image

    from cortexscore.models.placement import place_image
    from cortexscore.models.preprocessing import load_image, load_preprocess_images, preprocess_images

    extractor = getattr(model, "activations_model", None)
    preprocessing = getattr(extractor, "preprocessing", None)
    if not (isinstance(preprocessing, functools.partial) and preprocessing.func is load_preprocess_images
            and not preprocessing.args):
        return None
    keywords = dict(preprocessing.keywords)
    ratio = model_degrees / stimulus_degrees

    def preprocess(paths):
        if model_degrees == stimulus_degrees:
            images = [load_image(path) for path in paths]
        else:
            images = []
            for path in paths:
                with Image.open(path) as image:
                    images.append(place_image(image, ratio))
        return preprocess_images(images, **keywords)

    return extractor, preprocess


def _streaming_extractor(model):
    """The model's PyTorch extractor when its activations can be streamed a batch at a time, else None.

    That is the platform's own models (ModelCommitment and the tutorial's), whose ``activations`` is the
    extractor's; a model that overrides ``activations`` gets whole layers, as it returns them.
    """
    from cortexscore.models.activations import PytorchActivations
    from cortexscore.models.committed_model import CommittedModel

    extractor = getattr(model, "activations_model", None)
    if isinstance(extractor, PytorchActivations) and type(model).activations is CommittedModel.activations:
        return extractor
    return None


def _activations(model, image_paths: list[str], layers: list[str], placed_dir: Path, stimulus_degrees: float,
                 batch_size: int, progress=None, on_batch=None) -> dict:
    """The model's activations on the images as placed for ``stimulus_degrees``.

    With ``on_batch``, each batch of each layer goes to ``on_batch(layer, first_row, rows)``, whole layers
    at once for a model that cannot stream, and the result is empty.
    """
    from cortexscore.models.placement import _check_degrees, place_images

    model_degrees = model.visual_degrees()
    _check_degrees(model_degrees, stimulus_degrees)
    extractor = _streaming_extractor(model) if on_batch is not None else None

    def compute(paths):
        if extractor is not None:
            return extractor.activations(paths, layers, batch_size=batch_size, progress=progress, on_batch=on_batch)
        features = model.activations(paths, layers, batch_size=batch_size, progress=progress)
        if on_batch is None:
            return features
        for layer in layers:
            on_batch(layer, 0, features.pop(layer))
        return {}

    in_memory = _in_memory_preprocessing(model, model_degrees, stimulus_degrees)
    if in_memory is None:
        placed = place_images(image_paths, placed_dir, model_degrees, stimulus_degrees)
        return compute([str(path) for path in placed])
    in_memory_extractor, preprocess = in_memory
    original = in_memory_extractor.preprocessing
    in_memory_extractor.preprocessing = preprocess
    try:
        return compute(image_paths)
    finally:
        in_memory_extractor.preprocessing = original


def _use_device(model, allowed: bool) -> str:
    """Move a PyTorch model to the first GPU when allowed and present; the device its forward passes run on."""
    import torch

    from cortexscore.models.activations import PytorchActivations

    extractor = getattr(model, "activations_model", None)
    if not (allowed and isinstance(extractor, PytorchActivations) and torch.cuda.is_available()):
        return "cpu"
    extractor.to("cuda:0")
    return f"cuda:0 ({torch.cuda.get_device_name(0)})"


def _write_layers(out_dir: Path, index: int, layers: list[str], total: int):
    """Writers of the ``index``-th stimulus set's layer files, and the ``on_batch`` that feeds them."""
    from cortexscore.stored import NpyRowWriter

    writers = {layer: NpyRowWriter(out_dir / activations_file(index, position), total)
               for position, layer in enumerate(layers)}

    def on_batch(layer: str, _first_row: int, rows) -> None:
        writers[layer].write(rows)

    return writers, on_batch


def _peak_resident_bytes() -> int | None:
    """This process's peak resident memory (VmHWM), for the log."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) << 10
    return None


def run(request: dict) -> dict:
    """Import the model once, check it on a few stimuli, then write the activations of every stimulus set."""
    from cortexscore.models.submission import load_submission

    out_dir = Path(request["out_dir"])
    # The submission's own packages come after the platform's, which they never replace.
    sys.path.extend(request.get("extra_paths", []))
    code_dir = out_dir / "code"
    with zipfile.ZipFile(request["zip_path"]) as archive:
        archive.extractall(code_dir)
    roots = [path for path in code_dir.iterdir() if path.is_dir() and path.name != "__MACOSX"]
    started = time.perf_counter()
    submission = load_submission(roots[0])
    model = submission.brain_model(request["model"])
    (out_dir / IMPORTED_MARKER).touch()
    _log(f"imported {request['model']} ({submission.layout} layout) in {time.perf_counter() - started:.1f}s; "
         f"visual degrees {model.visual_degrees()}, candidate layers {model.layers}")
    batch_size = request.get("batch_size", 64)
    stimulus_sets = request["stimulus_sets"]
    device = _use_device(model, request.get("use_gpu", False))
    _log(f"forward passes on {device}")

    def layers_of(stimulus_set: dict) -> list[str]:
        return ["logits"] if stimulus_set.get("layer_mode") == "logits" else list(model.layers)

    def paths_of(stimulus_set: dict) -> list[str]:
        return [str(Path(stimulus_set["stimuli_dir"]) / name) for name in stimulus_set["image_paths"]]

    # Preflight: a few stimuli through every layer the sets need, so a broken model fails in seconds.
    started = time.perf_counter()
    checked = set()
    for index, stimulus_set in enumerate(stimulus_sets):
        layers = tuple(layers_of(stimulus_set))
        if layers in checked:
            continue
        checked.add(layers)
        _activations(model, paths_of(stimulus_set)[:PREFLIGHT_IMAGES], list(layers), out_dir / "placed" / str(index),
                     stimulus_set["stimulus_degrees"], batch_size)
    _log(f"preflight passed on {len(checked)} layer set(s) in {time.perf_counter() - started:.1f}s")
    for index, stimulus_set in enumerate(stimulus_sets):
        layers = layers_of(stimulus_set)
        total = len(stimulus_set["image_paths"])
        last_report = [0.0]

        def progress(done: int, total: int = total, index: int = index) -> None:
            if time.monotonic() - last_report[0] > 5 or done == total:
                last_report[0] = time.monotonic()
                _log(f"stimulus set {index + 1}/{len(stimulus_sets)}: activations {done}/{total} images")

        started = time.perf_counter()
        # The parent copies and checks these files, by their fixed names; it reads nothing else the child names.
        writers, on_batch = _write_layers(out_dir, index, layers, total)
        _activations(model, paths_of(stimulus_set), layers, out_dir / "placed" / str(index),
                     stimulus_set["stimulus_degrees"], batch_size, progress, on_batch)
        for writer in writers.values():
            writer.close()
        _log(f"{total} images through {len(layers)} layers in {time.perf_counter() - started:.1f}s")
    _check_no_processes_left()
    _log(f"peak resident memory {(_peak_resident_bytes() or 0) >> 20} MiB")
    committed = getattr(model, "region_layer_map", None) or {}
    return {"layers": list(model.layers), "parameter_count": _parameter_count(model), "device": device,
            "visual_degrees": float(model.visual_degrees()),
            "bibtex": submission.bibtex(request["model"]),
            "region_layer_map": {str(region): str(layer) for region, layer in dict(committed).items()}}


def _parameter_count(model) -> int | None:
    """The number of parameters of a PyTorch model, for its model card; None for anything else."""
    import torch

    network = getattr(getattr(model, "activations_model", model), "model", None)
    return sum(parameter.numel() for parameter in network.parameters()) if isinstance(network, torch.nn.Module) else None


def _check_no_processes_left() -> None:
    """A model must not leave processes behind: in the sandbox's PID namespace only bwrap's init and we remain."""
    others = sorted(int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, os.getpid()))
    if others:
        raise RuntimeError(f"the model left {len(others)} process(es) running (pids {others[:10]}), for example by "
                           "daemonising; a model must not start background processes")


def main(request_path: str) -> int:
    request = json.loads(Path(request_path).read_text())
    out_dir = Path(request["out_dir"])
    own_pid = os.getpid()
    try:
        result = run(request)
    except BaseException as error:  # everything the user's code raises is reported, never re-raised
        if os.getpid() != own_pid:
            # A process the model forked: only the original reports, and nothing here may linger.
            os._exit(1)
        lines = traceback.format_exception(error)
        (out_dir / ERROR_FILE).write_text(json.dumps({
            "type": type(error).__name__, "message": str(error)[:2000], "traceback": "".join(lines)[-6000:],
        }))
        print("".join(lines)[-6000:], file=sys.stderr, flush=True)
        # Skip interpreter shutdown: after a fork bomb or a crash inside torch it can deadlock.
        os._exit(3)
    (out_dir / RESULT_FILE).write_text(json.dumps(result))
    # Leave at once: a thread or atexit hook of the model's must not outlive the result.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
