#!/usr/bin/env python
"""Packaging of the submission, as in Brain-Score's sample-model-submission."""
from setuptools import find_packages, setup

setup(
    name="pixels-submission",
    version="0.1.0",
    description="The pixels baseline: the downsampled image itself as the only layer",
    packages=find_packages(exclude=["tests"]),
    install_requires=["numpy", "torch"],
    license="MIT license",
    zip_safe=False,
    python_requires=">=3.7",
)
