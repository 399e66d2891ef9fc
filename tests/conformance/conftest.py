# reference_driver.py runs only under .venv-reference (it imports Brain-Score), so pytest must not import it.
collect_ignore = ["reference_driver.py"]
