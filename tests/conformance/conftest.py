# The drivers run only under .venv-reference (they import Brain-Score), so pytest must not import them.
collect_ignore = ["reference_driver.py", "reference_edge_driver.py"]
