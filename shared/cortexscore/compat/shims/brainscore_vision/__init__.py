"""Stand-in for ``brainscore_vision`` (2.x plugin layout): ``model_registry``, ``load_model`` and ``score``."""
from cortexscore.compat.tutorial import score_model
from cortexscore.models import model_registry

score = score_model


def load_model(identifier: str):
    """The brain model a plugin registered as ``identifier``."""
    if identifier not in model_registry:
        raise KeyError(f"no model '{identifier}' is registered; registered: {sorted(model_registry)}")
    return model_registry[identifier]()


__all__ = ["load_model", "model_registry", "score", "score_model"]
