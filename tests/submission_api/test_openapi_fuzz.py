"""Schemathesis against the live API's /openapi.json: no 5xx, and every response matches its schema.

It runs schemathesis's own command line on the running platform, with a fixed
seed and a bounded number of examples per operation.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.skipif(not SCHEMATHESIS.exists() and shutil.which("schemathesis") is None,
                    reason="schemathesis is not installed (it is in the dev extras: make install)")
def test_no_server_errors_and_responses_match_their_schema(platform):
    command = [str(SCHEMATHESIS if SCHEMATHESIS.exists() else shutil.which("schemathesis")), "run",
               f"{platform.url}/openapi.json", "--checks", "not_a_server_error,response_schema_conformance",
               "--max-examples", "15", "--seed", "1", "--generation-deterministic", "--request-timeout", "30",
               "--phases", "examples,coverage,fuzzing", "--continue-on-failure"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report + "\n" + platform.logs()
    assert "passed" in report.lower() or "no issues found" in report.lower(), report
