"""A model that shares the synthetic benchmark's features: it scores near the benchmark's ceiling.

Use it to see what a well-matched model looks like on ``Synthetic2026.IT-pls``.
"""
import functools

from cortexscore.benchmarks.synthetic import SyntheticFeatureNet
from model_tools.activations.pytorch import PytorchWrapper, load_preprocess_images

preprocessing = functools.partial(load_preprocess_images, image_size=224)
activations_model = PytorchWrapper(identifier="synthetic-match", model=SyntheticFeatureNet(),
                                   preprocessing=preprocessing)


def get_model_list():
    return ["synthetic-match"]


def get_model(name):
    assert name == "synthetic-match"
    return activations_model


def get_layers(name):
    assert name == "synthetic-match"
    return ["relu1", "relu2", "features"]


def get_bibtex(model_identifier):
    return "@misc{cortexscore2026synthetic, title={The synthetic benchmark's feature net}, year={2026}}"
