"""Starts the child that runs untrusted model code, with resource limits, no network and timeouts."""
from __future__ import annotations

import ctypes
import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from scorer.child import IMPORTED_MARKER
from scorer.config import ScorerSettings

# Only what Python and torch need; nothing from the scorer's environment (tokens, keys) is passed on.
ENV_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "TZ")
PR_SET_PDEATHSIG = 1


class SubmissionFailure(Exception):
    """The user's code raised, timed out, or exceeded a limit: shown to the user, never retried."""


@dataclass
class SandboxResult:
    result: dict
    isolation: list[str]


@functools.lru_cache
def network_isolation_available() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    return subprocess.run([unshare, "--net", "true"], capture_output=True).returncode == 0


def _limits(settings: ScorerSettings) -> Callable[[], None]:
    def apply() -> None:
        # The child dies with its scorer, so a killed scorer leaves no model running.
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        resource.setrlimit(resource.RLIMIT_AS, (settings.memory_limit_bytes, settings.memory_limit_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (settings.file_size_limit_bytes, settings.file_size_limit_bytes))
        cpu = int(settings.run_timeout_seconds * (os.cpu_count() or 1)) + 60
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_child(request: dict, work_dir: Path, settings: ScorerSettings, *, on_tick: Callable[[str], None]) -> SandboxResult:
    """Run the child on ``request``; ``on_tick`` gets new log text about once a second (and may raise to abort)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    request = {**request, "out_dir": str(work_dir)}
    request_path = work_dir / "request.json"
    request_path.write_text(json.dumps(request))
    command = [sys.executable, "-m", "scorer.child", str(request_path)]
    isolation = ["rlimits(as,fsize,cpu)", "stripped-env", "private-tmp"]
    if settings.isolate_network and network_isolation_available():
        command = [shutil.which("unshare"), "--net", *command]
        isolation.append("network-namespace")
    env = {name: os.environ[name] for name in ENV_PASSTHROUGH if name in os.environ}
    tmp = work_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    env.update(HOME=str(tmp), TMPDIR=str(tmp), PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1",
               OMP_NUM_THREADS=str(os.cpu_count() or 1))
    log_path = work_dir / "child.log"
    with open(log_path, "wb") as log_file, open(log_path, "rb") as log_reader:
        process = subprocess.Popen(command, cwd=tmp, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, preexec_fn=_limits(settings), start_new_session=True)
        started = time.monotonic()
        try:
            while process.poll() is None:
                time.sleep(1.0)
                on_tick(log_reader.read().decode("utf-8", "replace"))
                elapsed = time.monotonic() - started
                if not (work_dir / IMPORTED_MARKER).exists() and elapsed > settings.import_timeout_seconds:
                    raise SubmissionFailure(f"importing the model took longer than "
                                            f"{settings.import_timeout_seconds:g}s and was stopped")
                if elapsed > settings.run_timeout_seconds:
                    raise SubmissionFailure(f"the model ran longer than {settings.run_timeout_seconds:g}s and was "
                                            "stopped")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            on_tick(log_reader.read().decode("utf-8", "replace"))
    return SandboxResult(_outcome(process.returncode, work_dir, log_path), isolation)


def _outcome(returncode: int, work_dir: Path, log_path: Path) -> dict:
    if returncode == 0 and (work_dir / "result.json").exists():
        return json.loads((work_dir / "result.json").read_text())
    if (work_dir / "error.json").exists():
        error = json.loads((work_dir / "error.json").read_text())
        raise SubmissionFailure(f"the model code raised {error['type']}: {error['message']}")
    tail = log_path.read_text(errors="replace")[-1500:]
    if returncode < 0:
        name = signal.Signals(-returncode).name
        cause = {"SIGKILL": "it was killed, most likely for using more memory than allowed",
                 "SIGXCPU": "it used more CPU time than allowed", "SIGXFSZ": "it wrote a file larger than allowed",
                 "SIGSEGV": "it crashed (segmentation fault)"}.get(name, f"it received {name}")
        raise SubmissionFailure(f"the model process ended abnormally: {cause}. Last output:\n{tail}")
    if "MemoryError" in tail or "Cannot allocate memory" in tail or "DefaultCPUAllocator" in tail:
        raise SubmissionFailure(f"the model ran out of memory (limit applies to the model process). Last output:\n{tail}")
    raise SubmissionFailure(f"the model process exited with code {returncode} without producing activations. "
                            f"Last output:\n{tail}")
