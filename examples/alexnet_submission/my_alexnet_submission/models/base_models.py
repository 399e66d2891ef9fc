"""The tutorial's AlexNet submission, runnable without torchvision.

With torchvision installed it uses ``torchvision.models.alexnet(weights=None)``; without it, the
same architecture is defined below with the same module names (``features.0`` ...
``classifier.6``), so the layer names are those of the tutorial. Weights are randomly
initialised (seed 0): no download is needed, and the scores are those of an untrained AlexNet.
"""
import functools

import torch
from torch import nn

from model_tools.activations.pytorch import PytorchWrapper
from model_tools.activations.pytorch import load_preprocess_images
from model_tools.check_submission import check_models
from brainscore import score_model  # noqa: F401  (kept as in the tutorial)


class AlexNet(nn.Module):
    """torchvision's AlexNet architecture (Krizhevsky 2014, "one weird trick" variant)."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def build_alexnet():
    torch.manual_seed(0)
    try:
        import torchvision
    except ImportError:
        return AlexNet()
    return torchvision.models.alexnet(weights=None)


def get_model_list():
    return ['alexnet']


def get_model(name):
    assert name == 'alexnet'
    preprocessing = functools.partial(load_preprocess_images, image_size=224)
    wrapper = PytorchWrapper(identifier='alexnet', model=build_alexnet(), preprocessing=preprocessing)
    wrapper.image_size = 224
    return wrapper


def get_layers(name):
    assert name == 'alexnet'
    return ['features.2', 'features.5', 'features.7', 'features.9', 'features.12', 'classifier.2', 'classifier.5']


def get_bibtex(model_identifier):
    return """@incollection{NIPS2012_4824,
title = {ImageNet Classification with Deep Convolutional Neural Networks},
author = {Alex Krizhevsky and Sutskever, Ilya and Hinton, Geoffrey E},
booktitle = {Advances in Neural Information Processing Systems 25},
editor = {F. Pereira and C. J. C. Burges and L. Bottou and K. Q. Weinberger},
pages = {1097--1105},
year = {2012},
publisher = {Curran Associates, Inc.},
url = {http://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks.pdf}
}"""


if __name__ == '__main__':
    check_models.check_base_models(__name__)
