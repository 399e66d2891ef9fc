"""Stand-in for Brain-Score's ``brainscore`` package (see ``cortexscore.compat``)."""
from cortexscore.compat.tutorial import score_model

__all__ = ["score_model"]
