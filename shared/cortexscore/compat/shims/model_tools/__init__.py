"""Stand-in for Brain-Score's ``model_tools`` (see ``cortexscore.compat``)."""
