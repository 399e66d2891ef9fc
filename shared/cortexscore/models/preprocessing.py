"""Image loading and the default ImageNet preprocessing, with Pillow and numpy only.

It reproduces ``torchvision``'s ``Resize((size, size))``, ``ToTensor()`` and
``Normalize(mean, std)`` so that models score the same without torchvision installed.
"""
from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_preprocessing_options(image_size, normalize_mean, normalize_std):
    if not isinstance(image_size, (int, np.integer)) or image_size < 1:
        raise ValueError(f"image_size must be a positive int (e.g. 224); got {image_size!r}.")
    for name, value in (("normalize_mean", normalize_mean), ("normalize_std", normalize_std)):
        if len(value) != 3:
            raise ValueError(f"{name} must hold one value per RGB channel (3 values); got {value!r}.")
    if min(normalize_std) <= 0:
        raise ValueError(f"normalize_std must be positive; got {normalize_std!r}.")


def load_image(path: str | PathLike) -> Image.Image:
    """Load one image as RGB, converting grey, palette and alpha images.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grey.png"
    >>> Image.new("L", (4, 3), 7).save(path)
    >>> image = load_image(path)
    >>> image.mode, image.size
    ('RGB', (4, 3))
    """
    with Image.open(path) as image:
        # convert() also forces the lazy decode, so the file can be closed here.
        return image.convert("RGB") if image.mode != "RGB" else image.copy()


def load_images(image_filepaths: Sequence[str | PathLike]) -> list[Image.Image]:
    """Load several images as RGB (see ``load_image``)."""
    return [load_image(path) for path in image_filepaths]


def preprocess_images(images: Sequence[Image.Image], image_size: int,
                      normalize_mean=IMAGENET_MEAN, normalize_std=IMAGENET_STD) -> np.ndarray:
    """Resize (bilinear) to a square, scale to [0, 1] and normalise per channel.

    Returns
    -------
    numpy.ndarray
        float32 of shape (n_images, 3, image_size, image_size).

    Examples
    --------
    >>> batch = preprocess_images([Image.new("RGB", (10, 20), (255, 0, 0))], image_size=4)
    >>> batch.shape, batch.dtype
    ((1, 3, 4, 4), dtype('float32'))
    >>> [round(float(batch[0, channel, 0, 0]), 3) for channel in range(3)]
    [2.249, -2.036, -1.804]
    """
    _check_preprocessing_options(image_size, normalize_mean, normalize_std)
    pixels = np.stack([np.asarray(image.resize((image_size, image_size), Image.BILINEAR))
                       for image in images])
    mean = np.asarray(normalize_mean, dtype=np.float32).reshape(3, 1, 1) * 255
    scale = 1 / (np.asarray(normalize_std, dtype=np.float32).reshape(3, 1, 1) * 255)
    # (x/255 - mean)/std as one subtract and one multiply, in place on the channels-first copy.
    normalised = pixels.transpose(0, 3, 1, 2).astype(np.float32, order="C")
    normalised -= mean
    normalised *= scale
    return normalised


def load_preprocess_images(image_filepaths: Sequence[str | PathLike], image_size: int,
                           normalize_mean=IMAGENET_MEAN, normalize_std=IMAGENET_STD) -> np.ndarray:
    """Load image files and preprocess them as ``preprocess_images`` does.

    This is the default preprocessing of the tutorial's ``PytorchWrapper``; bind the size with
    ``functools.partial(load_preprocess_images, image_size=224)``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "red.png"
    >>> Image.new("RGB", (8, 8), (255, 0, 0)).save(path)
    >>> load_preprocess_images([path, path], image_size=16).shape
    (2, 3, 16, 16)
    """
    return preprocess_images(load_images(image_filepaths), image_size,
                             normalize_mean=normalize_mean, normalize_std=normalize_std)
