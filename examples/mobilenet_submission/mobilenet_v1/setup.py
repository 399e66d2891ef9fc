#!/usr/bin/env python
"""Packaging of the submission, as in Brain-Score's sample-model-submission."""
from setuptools import find_packages, setup

requirements = [
    "numpy",
    "torch",
]

setup(
    name="mobilenet-v1-submission",
    version="0.1.0",
    description="MobileNetV1 (1.0, 224) converted from the TensorFlow-slim checkpoint, and its untrained twin",
    packages=find_packages(exclude=["tests"]),
    install_requires=requirements,
    license="MIT license",
    zip_safe=False,
    python_requires=">=3.7",
)
