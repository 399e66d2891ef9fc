"""Fixtures the example models' tests share."""
from pathlib import Path

import pytest
from PIL import Image


@pytest.fixture(scope="module")
def skimage_photos(tmp_path_factory) -> list[Path]:
    """skimage's ``chelsea`` (a tabby cat) and ``coffee`` (an espresso), saved as PNG files."""
    data = pytest.importorskip("skimage.data")
    folder = tmp_path_factory.mktemp("photos")
    paths = [folder / "chelsea.png", folder / "coffee.png"]
    for path, pixels in zip(paths, (data.chelsea(), data.coffee())):
        Image.fromarray(pixels).save(path)
    return paths
