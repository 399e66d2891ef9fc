"""Stand-in for ``model_tools.brain_transformation``."""
from cortexscore.compat.tutorial import ModelCommitment

__all__ = ["ModelCommitment"]
