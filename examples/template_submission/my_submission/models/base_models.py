"""Template for a CortexScore (Brain-Score compatible) submission: fill in the four functions.

Zip the folder that holds this ``models/`` folder, ``__init__.py`` and ``setup.py``::

    my_submission/
        __init__.py
        setup.py
        models/
            __init__.py
            base_models.py   <- this file

then check it with ``cortexscore check my_submission.zip`` and submit it with
``cortexscore submit my_submission.zip``. As shipped, the template holds a small working
network, so it passes the check; replace it with yours.

The imports below are Brain-Score's names. CortexScore provides stand-ins for them when the
real packages are not installed, so the same file runs on both platforms.
"""
import functools

import torch
from torch import nn

from model_tools.activations.pytorch import PytorchWrapper
from model_tools.activations.pytorch import load_preprocess_images
from model_tools.check_submission import check_models


class SmallNet(nn.Module):
    """Replace with your network. Any ``torch.nn.Module`` taking (batch, 3, H, W) images works."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=2)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.fc = nn.Linear(32 * 4 * 4, 1000)

    def forward(self, x):
        x = self.relu1(self.conv1(x))
        x = self.relu2(self.conv2(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def get_model_list():
    """The names of the submitted models, as a literal list (one entry per model).

    The platform reads this list without running your code, so return a plain list of strings.
    """
    return ['my-small-net']


def get_model(name):
    """Return the activations model for ``name``: a ``PytorchWrapper`` around your network.

    ``preprocessing`` turns image file paths into a (n, 3, H, W) array; the default resizes to
    ``image_size`` pixels and normalises with the ImageNet mean and std. The model is shown the
    images at 8 degrees of visual angle.
    """
    assert name == 'my-small-net'
    torch.manual_seed(0)
    preprocessing = functools.partial(load_preprocess_images, image_size=224)
    wrapper = PytorchWrapper(identifier=name, model=SmallNet(), preprocessing=preprocessing)
    wrapper.image_size = 224
    return wrapper


def get_layers(name):
    """The candidate layers for ``name``: dotted module names (``'features.2'``), or ``'logits'``.

    Each brain region (V1, V2, V4, IT) is mapped to the candidate that predicts it best. Every
    layer must give at least 25 features per image. Fewer candidates score faster.
    """
    assert name == 'my-small-net'
    return ['relu1', 'relu2', 'pool', 'fc']


def get_bibtex(model_identifier):
    """The BibTeX entry the leaderboard cites for the model, or '' if there is none."""
    return ''


if __name__ == '__main__':
    # With the real Brain-Score packages installed this runs their mock check; with CortexScore
    # run `cortexscore check` on the folder instead.
    check_models.check_base_models(__name__)
