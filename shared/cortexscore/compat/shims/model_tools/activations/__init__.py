"""Stand-in for ``model_tools.activations``."""
from cortexscore.compat.tutorial import PytorchWrapper

__all__ = ["PytorchWrapper"]
