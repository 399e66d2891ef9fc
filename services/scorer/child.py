"""Runs inside the sandboxed child process: imports the user's submission and writes activations.

It receives only image paths and writes only activations: assemblies, private
splits and credentials never reach this process. Input is a JSON request;
output is ``result.json`` plus one ``.npz`` per stimulus set, or ``error.json``.
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


def activations_file(index: int) -> str:
    """The fixed name under which the child writes the activations of the request's ``index``-th stimulus set."""
    return f"activations-{index}.npz"


def _log(message: str) -> None:
    print(f"[model] {message}", flush=True)


def run(request: dict) -> dict:
    from cortexscore.models.cache import write_entry
    from cortexscore.models.placement import place_images
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
    layers = ["logits"] if request.get("layer_mode") == "logits" else list(model.layers)
    for index, stimulus_set in enumerate(request["stimulus_sets"]):
        image_paths = [str(Path(request["stimuli_dir"]) / name) for name in stimulus_set["image_paths"]]
        placed = place_images(image_paths, out_dir / "placed" / stimulus_set["key"],
                              model.visual_degrees(), stimulus_set["stimulus_degrees"])
        total = len(placed)
        last_report = [0.0]

        def progress(done: int, total: int = total) -> None:
            if time.monotonic() - last_report[0] > 5 or done == total:
                last_report[0] = time.monotonic()
                _log(f"activations {done}/{total} images")

        started = time.perf_counter()
        features = model.activations([str(path) for path in placed], layers,
                                     batch_size=request.get("batch_size", 64), progress=progress)
        _log(f"{total} images through {len(features)} layers in {time.perf_counter() - started:.1f}s")
        # The parent copies and checks this file; it reads nothing else the child names.
        write_entry(out_dir / activations_file(index), {layer: features[layer] for layer in layers})
    _check_no_processes_left()
    committed = getattr(model, "region_layer_map", None) or {}
    return {"layers": layers, "visual_degrees": float(model.visual_degrees()),
            "bibtex": submission.bibtex(request["model"]),
            "region_layer_map": {str(region): str(layer) for region, layer in dict(committed).items()}}


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
