"""Starts the child that runs untrusted model code: resource limits, no network, a read-only world and timeouts.

Where the kernel allows it (root, or a container with CAP_SYS_ADMIN), the child
gets its own network, mount and PID namespaces: no interface but a dead
loopback, every mount read-only except its work dir, the scorer's private
paths (its cache with the assemblies, the platform's var dir) covered by an
empty tmpfs, and no view of other processes. A pids cgroup caps fork bombs.
Elsewhere it falls back to rlimits and a stripped environment, and says so in
the job log.
"""
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
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from scorer.child import IMPORTED_MARKER
from scorer.config import ScorerSettings

# Only what Python needs; nothing from the scorer's environment (tokens, keys) is passed on.
ENV_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "TZ")
PR_SET_PDEATHSIG = 1
PIDS_CGROUP_ROOT = Path("/sys/fs/cgroup/pids")
# Runs as root inside the new namespaces, then execs the child. Arguments, never interpolated:
# $1 work dir (stays writable), $2 stimuli dir (exposed read-only), $3.. hidden paths, "--", command.
JAIL_SCRIPT = r"""
set -e
work="$1"; stimuli="$2"; shift 2
mount --bind "$work" "$work"
mkdir -p "$work/stimuli"
mount --bind "$stimuli" "$work/stimuli"
while [ "$1" != "--" ]; do
  if [ -d "$1" ]; then mount -t tmpfs -o size=64k,mode=0555 cortexscore-hidden "$1"; fi
  shift
done
shift
awk '{print $2}' /proc/mounts | sort -r | while read -r point; do
  case "$point" in
    /proc|/proc/*|/dev|/dev/*|"$work") ;;
    *) mount -o remount,bind,ro "$point" 2>/dev/null || true ;;
  esac
done
exec "$@"
"""


class SubmissionFailure(Exception):
    """The user's code raised, timed out, or exceeded a limit: shown to the user, never retried."""


@dataclass
class SandboxResult:
    result: dict
    isolation: list[str]


@functools.lru_cache
def namespaces_available() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = [unshare, "--net", "--mount", "--pid", "--fork", "--mount-proc", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


class PidsCgroup:
    """A pids cgroup (v1) that caps how many processes the child may have; absent where not writable."""

    def __init__(self, limit: int):
        self.path = PIDS_CGROUP_ROOT / f"cortexscore-{uuid.uuid4().hex[:12]}"
        try:
            self.path.mkdir()
            (self.path / "pids.max").write_text(str(limit))
        except OSError:
            self.path = None

    @property
    def active(self) -> bool:
        return self.path is not None

    def join(self) -> None:
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        if self.path is None:
            return
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def _preexec(settings: ScorerSettings, cgroup: PidsCgroup) -> Callable[[], None]:
    def apply() -> None:
        # The child dies with its scorer, so a killed scorer leaves no model running.
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        cgroup.join()
        resource.setrlimit(resource.RLIMIT_AS, (settings.memory_limit_bytes, settings.memory_limit_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (settings.file_size_limit_bytes, settings.file_size_limit_bytes))
        cpu = int(settings.run_timeout_seconds * (os.cpu_count() or 1)) + 60
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # Ignored for root, which the pids cgroup covers; effective for an unprivileged scorer.
        resource.setrlimit(resource.RLIMIT_NPROC, (settings.max_processes, settings.max_processes))

    return apply


def hidden_paths(settings: ScorerSettings) -> list[Path]:
    """Paths the child must not see; refuses a set-up where hiding them would hide the sandbox itself."""
    hidden = sorted({path.resolve() for path in [*settings.sandbox_hidden_paths, settings.cache_dir]})
    sandbox = settings.sandbox_dir.resolve()
    for path in hidden:
        if sandbox == path or path in sandbox.parents:
            raise ValueError(f"SCORER_SANDBOX_DIR ({sandbox}) lies inside the hidden path {path}; "
                             "put the sandbox dir elsewhere")
    return hidden


def _command(request_path: Path, work_dir: Path, stimuli_dir: Path, settings: ScorerSettings) -> tuple[list, list]:
    """The command line, and what isolation it gives; an empty isolation list means no namespaces."""
    child = [sys.executable, "-m", "scorer.child", str(request_path)]
    if not (settings.isolate_namespaces and namespaces_available()):
        return child, []
    hidden = [str(path) for path in hidden_paths(settings)]
    command = [shutil.which("unshare"), "--net", "--mount", "--pid", "--fork", "--mount-proc",
               "--kill-child=SIGKILL", "sh", "-c", JAIL_SCRIPT, "jail", str(work_dir), str(stimuli_dir),
               *hidden, "--", *child]
    return command, ["network namespace (no network)", "pid namespace", "read-only filesystem except the work dir",
                     f"hidden: {', '.join(hidden)}"]


def run_child(request: dict, work_dir: Path, stimuli_dir: Path, settings: ScorerSettings, *,
              on_tick: Callable[[str], None]) -> SandboxResult:
    """Run the child on ``request``; ``on_tick`` gets new log text about once a second (and may raise to abort).

    Inside the child, ``stimuli_dir`` is visible, read-only, as ``<work_dir>/stimuli``.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    request_path = work_dir / "request.json"
    command, isolation = _command(request_path, work_dir, stimuli_dir, settings)
    # Inside the mount namespace the stimuli appear under the work dir; without one the child reads them in place.
    visible_stimuli = work_dir / "stimuli" if isolation else stimuli_dir
    request_path.write_text(json.dumps({**request, "out_dir": str(work_dir), "stimuli_dir": str(visible_stimuli)}))
    isolation = isolation or ["no namespaces (unshare is not permitted here): network and filesystem NOT isolated"]
    cgroup = PidsCgroup(settings.max_processes)
    isolation = [f"rlimits (memory {settings.memory_limit_bytes >> 20} MiB, file size, CPU time)",
                 "environment stripped of secrets", "private temp dir",
                 f"pids cgroup (max {settings.max_processes})" if cgroup.active else "no pids cgroup", *isolation]
    env = {name: os.environ[name] for name in ENV_PASSTHROUGH if name in os.environ}
    tmp = work_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    env.update(HOME=str(tmp), TMPDIR=str(tmp), PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1",
               OMP_NUM_THREADS=str(os.cpu_count() or 1))
    log_path = work_dir / "child.log"
    try:
        with open(log_path, "wb") as log_file, open(log_path, "rb") as log_reader:
            process = subprocess.Popen(command, cwd=tmp, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, preexec_fn=_preexec(settings, cgroup),
                                       start_new_session=True)
            _supervise(process, work_dir, settings, lambda: on_tick(log_reader.read().decode("utf-8", "replace")))
    finally:
        cgroup.remove()
    return SandboxResult(_outcome(process.returncode, work_dir, log_path), isolation)


def _supervise(process: subprocess.Popen, work_dir: Path, settings: ScorerSettings, tick: Callable[[], None]) -> None:
    started = time.monotonic()
    try:
        while process.poll() is None:
            time.sleep(0.5)
            tick()
            elapsed = time.monotonic() - started
            if not (work_dir / IMPORTED_MARKER).exists() and elapsed > settings.import_timeout_seconds:
                raise SubmissionFailure(f"importing the model took longer than the limit of "
                                        f"{settings.import_timeout_seconds:g}s and was stopped")
            if elapsed > settings.run_timeout_seconds:
                raise SubmissionFailure(f"the model ran longer than the limit of {settings.run_timeout_seconds:g}s "
                                        "and was stopped")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        tick()


def _outcome(returncode: int, work_dir: Path, log_path: Path) -> dict:
    if returncode == 0 and (work_dir / "result.json").exists():
        return json.loads((work_dir / "result.json").read_text())
    if (work_dir / "error.json").exists():
        error = json.loads((work_dir / "error.json").read_text())
        raise SubmissionFailure(f"the model code raised {error['type']}: {error['message']}")
    tail = log_path.read_text(errors="replace")[-1500:]
    if returncode < 0 or returncode > 128:
        number = -returncode if returncode < 0 else returncode - 128
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else f"signal {number}"
        cause = {"SIGKILL": "it was killed, most likely for using more memory than allowed",
                 "SIGXCPU": "it used more CPU time than allowed", "SIGXFSZ": "it wrote a file larger than allowed",
                 "SIGSEGV": "it crashed (segmentation fault)"}.get(name, f"it received {name}")
        raise SubmissionFailure(f"the model process ended abnormally: {cause}. Last output:\n{tail}")
    raise SubmissionFailure(f"the model process exited with code {returncode} without producing activations "
                            f"(did the code call exit()?). Last output:\n{tail}")
