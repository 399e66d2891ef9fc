"""Stand-in for ``brainscore_vision.model_helpers``."""
