"""Stand-in for ``brainscore_vision`` (2.x plugin layout): ``model_registry`` and ``score``."""
from cortexscore.compat.tutorial import score_model
from cortexscore.models import model_registry

score = score_model

__all__ = ["model_registry", "score", "score_model"]
