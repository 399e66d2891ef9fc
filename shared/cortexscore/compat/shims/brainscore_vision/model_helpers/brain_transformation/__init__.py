"""Stand-in for ``brainscore_vision.model_helpers.brain_transformation``."""
from cortexscore.compat.tutorial import ModelCommitment

__all__ = ["ModelCommitment"]
