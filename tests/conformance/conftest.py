# The drivers run only under .venv-reference (they import Brain-Score), so pytest must not import them.
collect_ignore_glob = ["reference_*driver.py"]
