from setuptools import setup

setup(name="synthetic_match", packages=["models"])
