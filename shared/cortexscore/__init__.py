"""CortexScore: score how brain-like vision models are, number for number with Brain-Score."""
import functools
import os
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("cortexscore")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"


@functools.lru_cache
def code_version() -> str:
    """The package version plus the git commit it runs from (``CORTEXSCORE_GIT_COMMIT`` in images without git)."""
    commit = os.environ.get("CORTEXSCORE_GIT_COMMIT", "")
    if not commit:
        try:
            commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(__file__).parent,
                                    capture_output=True, text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            commit = ""
    return f"{__version__}+g{commit}" if commit else __version__
