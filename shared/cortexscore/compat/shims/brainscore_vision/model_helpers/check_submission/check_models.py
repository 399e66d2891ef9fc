"""Stand-in for ``brainscore_vision.model_helpers.check_submission.check_models``."""
from cortexscore.compat.tutorial import check_base_models, check_brain_models

__all__ = ["check_base_models", "check_brain_models"]
