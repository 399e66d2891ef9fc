"""MobileNetV1 (1.0, 224), trained on ImageNet, and its untrained twin, as a tutorial-layout submission.

The trained weights are not part of the repository. Convert them once from the TensorFlow
GraphDef with::

    python tools/mobilenet/convert.py mobilenet_v1_1.0_224_imagenet.pb \
        examples/mobilenet_submission/mobilenet_v1/models/mobilenet_v1_1.0_224.pt

then zip this folder (the .pt file inside it is what the platform loads). ``MOBILENET_V1_WEIGHTS``
may point at the .pt file elsewhere instead. The untrained twin needs no file: the same
architecture with PyTorch's default initialisation (seed 0).
"""
import functools
import os
from pathlib import Path

import torch

from model_tools.activations.pytorch import PytorchWrapper
from model_tools.activations.pytorch import load_preprocess_images
from model_tools.check_submission import check_models

try:
    from .mobilenet_v1 import MobileNetV1
except ImportError:  # run as a script, `python models/base_models.py`, as the tutorial's check step does
    from mobilenet_v1 import MobileNetV1

TRAINED = 'mobilenet_v1_1.0_224'
WEIGHTS_FILE = Path(__file__).resolve().parent / 'mobilenet_v1_1.0_224.pt'


def weights_path():
    return Path(os.environ.get('MOBILENET_V1_WEIGHTS', WEIGHTS_FILE))


def build(name):
    torch.manual_seed(0)
    model = MobileNetV1()
    if name == TRAINED:
        path = weights_path()
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: convert the TensorFlow graph with "
                                    "tools/mobilenet/convert.py (see this module's docstring)")
        model.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))
    return model.eval()


def get_model_list():
    return ['mobilenet_v1_1.0_224', 'mobilenet_v1_1.0_224-untrained']


def get_model(name):
    assert name in get_model_list()
    # TensorFlow-slim's MobileNet sees RGB scaled to [-1, 1]: mean 0.5 and std 0.5 after ToTensor.
    preprocessing = functools.partial(load_preprocess_images, image_size=224,
                                      normalize_mean=(0.5, 0.5, 0.5), normalize_std=(0.5, 0.5, 0.5))
    wrapper = PytorchWrapper(identifier=name, model=build(name), preprocessing=preprocessing)
    wrapper.image_size = 224
    return wrapper


def get_layers(name):
    assert name in get_model_list()
    return ['Conv2d_5_pointwise', 'Conv2d_7_pointwise', 'Conv2d_9_pointwise', 'Conv2d_11_pointwise',
            'Conv2d_13_pointwise', 'AvgPool_1a']


def get_bibtex(model_identifier):
    return """@article{howard2017mobilenets,
title = {MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications},
author = {Howard, Andrew G. and Zhu, Menglong and Chen, Bo and Kalenichenko, Dmitry and Wang, Weijun
          and Weyand, Tobias and Andreetto, Marco and Adam, Hartwig},
journal = {arXiv preprint arXiv:1704.04861},
year = {2017}
}"""


if __name__ == '__main__':
    check_models.check_base_models(__name__)
