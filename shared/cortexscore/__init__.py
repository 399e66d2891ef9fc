"""CortexScore: score how brain-like vision models are, number for number with Brain-Score."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cortexscore")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
