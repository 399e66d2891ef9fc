"""The pixels baseline: a "model" whose only layer is the image itself, downsampled and flattened.

It has no parameters and learns nothing. Any model worth its score should beat it; on the
leaderboard it marks how much of a benchmark is explained by the raw pixels alone. The image
(224 pixels, RGB in [0, 1], no normalisation) is averaged down to 32 x 32, and the layer
``pixels`` holds its 3 x 32 x 32 = 3072 values.
"""
import functools

from torch import nn

from model_tools.activations.pytorch import PytorchWrapper
from model_tools.activations.pytorch import load_preprocess_images
from model_tools.check_submission import check_models

IMAGE_SIZE, PIXELS_SIZE = 224, 32


class Pixels(nn.Module):
    def __init__(self):
        super().__init__()
        self.downsample = nn.AdaptiveAvgPool2d(PIXELS_SIZE)
        self.pixels = nn.Flatten()

    def forward(self, images):
        return self.pixels(self.downsample(images))


def get_model_list():
    return ['pixels']


def get_model(name):
    assert name == 'pixels'
    preprocessing = functools.partial(load_preprocess_images, image_size=IMAGE_SIZE,
                                      normalize_mean=(0, 0, 0), normalize_std=(1, 1, 1))
    wrapper = PytorchWrapper(identifier=name, model=Pixels().eval(), preprocessing=preprocessing)
    wrapper.image_size = IMAGE_SIZE
    return wrapper


def get_layers(name):
    assert name == 'pixels'
    return ['pixels']


def get_bibtex(model_identifier):
    return """@misc{pixels,
title = {Pixels: the downsampled image as a baseline model},
note = {a baseline without parameters}
}"""


if __name__ == '__main__':
    check_models.check_base_models(__name__)
