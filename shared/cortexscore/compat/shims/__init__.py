"""Folder of stand-in packages; it is appended to ``sys.path`` by ``cortexscore.compat.enable()``.

Do not import these as ``cortexscore.compat.shims.*``: they are meant to be found as the
top-level ``model_tools``, ``brainscore`` and ``brainscore_vision`` when no real one is installed.
"""
