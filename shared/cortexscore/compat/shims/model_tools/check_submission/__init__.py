"""Stand-in for ``model_tools.check_submission``."""
