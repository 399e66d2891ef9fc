"""Stand-in for ``brainscore_vision.model_helpers.activations``."""
from cortexscore.compat.tutorial import PytorchWrapper

__all__ = ["PytorchWrapper"]
