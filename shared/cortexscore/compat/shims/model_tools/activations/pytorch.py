"""Stand-in for ``model_tools.activations.pytorch``."""
from cortexscore.compat.tutorial import PytorchWrapper
from cortexscore.models.preprocessing import load_image, load_images, load_preprocess_images, preprocess_images

__all__ = ["PytorchWrapper", "load_preprocess_images", "load_image", "load_images", "preprocess_images"]
