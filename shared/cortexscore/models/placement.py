"""Place stimuli in the model's field of view, as Brain-Score does.

A benchmark shows its images at ``stimulus_degrees`` of visual angle; the model sees
``model_degrees``. With ``ratio = model_degrees / stimulus_degrees``, an image for a model
that sees more than the stimulus covers (ratio >= 1) is pasted centred on a grey canvas of
``round(ratio * size)``; otherwise its centre is cropped to that size.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
from PIL import Image

BACKGROUND_GREY = (128, 128, 128)


def _check_degrees(model_degrees, stimulus_degrees):
    for name, value in (("model_degrees", model_degrees), ("stimulus_degrees", stimulus_degrees)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number of degrees of visual angle; got {value!r}.")


def place_image(image: Image.Image, ratio: float) -> Image.Image:
    """Enlarge onto a grey canvas (ratio >= 1) or centre-crop (ratio < 1) by ``ratio``.

    Examples
    --------
    >>> placed = place_image(Image.new("RGB", (10, 10), (255, 255, 255)), ratio=2)
    >>> placed.size, placed.getpixel((0, 0)), placed.getpixel((10, 10))
    ((20, 20), (128, 128, 128), (255, 255, 255))
    >>> place_image(Image.new("RGB", (10, 10)), ratio=0.5).size
    (5, 5)
    """
    size = np.array(image.size)
    target_size = (ratio * size).round().astype(int)
    if ratio >= 1:
        canvas = Image.new("RGB", tuple(int(v) for v in target_size), BACKGROUND_GREY)
        canvas.paste(image.convert("RGB"), tuple(int(v) for v in ((target_size - size) / 2).round()))
        return canvas
    left, upper = ((size - target_size) / 2).round().astype(int)
    return image.convert("RGB").crop((int(left), int(upper), int(left + target_size[0]), int(upper + target_size[1])))


def place_images(image_paths: Sequence[str | PathLike], out_dir: str | PathLike,
                 model_degrees: float, stimulus_degrees: float) -> list[Path]:
    """Write each image as the model sees it and return the new paths, in order.

    File names are ``{stem}-{content hash}-{model}deg-{stimulus}deg.png`` (lossless PNG), so
    placing the same images again reuses the files already written. When the degrees are equal
    nothing is written and the paths are returned as given.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (10, 10)).save(folder / "a.png")
    >>> [placed] = place_images([folder / "a.png"], folder / "placed", model_degrees=8, stimulus_degrees=4)
    >>> Image.open(placed).size
    (20, 20)
    >>> place_images([folder / "a.png"], folder / "placed", 8, 8) == [folder / "a.png"]
    True
    """
    _check_degrees(model_degrees, stimulus_degrees)
    if model_degrees == stimulus_degrees:
        return [Path(path) for path in image_paths]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ratio = model_degrees / stimulus_degrees
    placed_paths = []
    for path in map(Path, image_paths):
        content = path.read_bytes()
        target = out_dir / (f"{path.stem}-{hashlib.sha256(content).hexdigest()[:16]}"
                            f"-{model_degrees:g}deg-{stimulus_degrees:g}deg.png")
        if not target.exists():
            with Image.open(path) as image:
                placed = place_image(image, ratio)
            # Write then rename, so a concurrent reader never sees half a file.
            partial = target.with_suffix(".partial.png")
            placed.save(partial)
            partial.replace(target)
        placed_paths.append(target)
    return placed_paths
