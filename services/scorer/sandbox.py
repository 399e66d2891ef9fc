"""Runs untrusted model code in a bubblewrap sandbox under kernel limits; reads back only fixed, capped files.

The child sees a minimal root that bubblewrap (``bwrap``) builds for it:

- the Python runtime and the platform's own packages, read-only; nothing else of the host;
- its job dir at ``/job``, the only writable place, with each stimulus set read-only at ``/job/stimuli/<index>``;
- a private ``/dev`` (null, zero, random, urandom), a size-capped private ``/dev/shm``, its own ``/proc``;
  no ``/sys``, no host ``/tmp``, nothing of ``var/``, no other job's dir;
- new user, PID, network (no interface but a dead loopback), IPC, UTS and cgroup namespaces;
- uid 65534, no capabilities, ``no_new_privs``, and a seccomp filter that refuses mount, namespace,
  tracing, BPF, keyring and kernel-module calls.

Limits: a memory and a pids cgroup per job (v1 or v2, whichever the kernel offers; rlimits where none is
writable, named in the job log), CPU time, file size, a disk quota on the job dir and a cap on printed output.
The child's results are opened by fixed names with ``O_NOFOLLOW``, must be regular files, and are capped in
size; anything malformed is the submission's failure.
"""
from __future__ import annotations

import errno
import functools
import glob
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cortexscore
import scorer
from cortexscore.weights import SANDBOX_WEIGHTS_DIR, WEIGHTS_DIR_VARIABLE

from scorer.child import ERROR_FILE, IMPORTED_MARKER, RESULT_FILE
from scorer.config import ScorerSettings

JOB_ROOT = "/job"  # the job dir, as the child sees it
ENVIRONMENT_ROOT = "/env"  # a submission's own packages (scorer/environments.py), read-only
WEIGHTS_ROOT = SANDBOX_WEIGHTS_DIR  # a submission's uploaded weights files (issue 13), read-only
STIMULI = "stimuli"  # read-only stimuli, under the job dir
NOBODY = 65534
# Only what Python needs; nothing from the scorer's environment (tokens, keys) is passed on.
ENV_PASSTHROUGH = ("LANG", "LC_ALL", "TZ")
DENIED_SYSCALLS = (
    "mount", "umount2", "pivot_root", "chroot", "setns", "unshare", "ptrace", "process_vm_readv",
    "process_vm_writev", "bpf", "keyctl", "add_key", "request_key", "perf_event_open", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "open_by_handle_at", "name_to_handle_at",
    "userfaultfd", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    "swapon", "swapoff", "reboot", "syslog", "acct", "quotactl", "iopl", "ioperm", "settimeofday",
    "clock_settime", "clock_adjtime", "adjtimex", "lookup_dcookie", "personality",
)
# clone() may start threads and processes but no namespaces; clone3's flags sit behind a pointer that seccomp
# cannot read, so it answers ENOSYS and the C library falls back to clone().
CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
                         0x00000080)
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PREFIX = "cortexscore-"


class SubmissionFailure(Exception):
    """The user's code raised, timed out, or exceeded a limit: shown to the user, never retried.

    ``model_error``: the model's own code raised (its error.json), so the same model fails the same way on
    every stimulus set; the scorer then fails all of that model's jobs with this cause at once.
    """

    def __init__(self, message: str, *, model_error: bool = False):
        super().__init__(message)
        self.model_error = model_error


class SandboxUnavailable(RuntimeError):
    """The scorer cannot build the sandbox here: it refuses to run model code at all."""


@dataclass
class SandboxResult:
    result: dict
    isolation: list[str]
    peak_memory_bytes: int | None = None


@functools.lru_cache
def seccomp_program() -> bytes:
    """The seccomp filter, compiled by libseccomp to BPF; any other architecture's system calls kill the child."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as error:  # OSError: libseccomp.so.2 is missing
        raise SandboxUnavailable(f"cannot load libseccomp ({error}); install the Debian package libseccomp2") from None
    program = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            program.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            pass  # a call this architecture does not have (iopl on arm64)
    program.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in CLONE_NAMESPACE_FLAGS:
        program.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    with tempfile.TemporaryFile() as compiled:  # libseccomp writes to a file descriptor
        program.export_bpf(compiled)
        compiled.seek(0)
        return compiled.read()


def bwrap_binary() -> str:
    binary = shutil.which("bwrap")
    if binary is None:
        raise SandboxUnavailable("bubblewrap is not installed (no `bwrap` on PATH); install the Debian package "
                                 "bubblewrap. The scorer never runs model code unsandboxed")
    return binary


def runtime_paths() -> list[Path]:
    """The host paths the child needs, read-only: the OS's /usr, the Python install, the platform's packages."""
    candidates = {Path("/usr"), Path(sys.base_prefix), Path(sys.prefix),
                  Path(cortexscore.__file__).parent, Path(scorer.__file__).parent}
    candidates = {path.resolve() for path in candidates if path.is_dir()} | {Path(sys.prefix).absolute()}
    return sorted(path for path in candidates if not any(other in path.parents for other in candidates))


def _nobody_can_reach(path: Path) -> bool:
    for directory in [*reversed(path.parents), path]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH or (directory == path and not mode & stat.S_IROTH):
            return False
    return True


@functools.lru_cache
def runs_as_host_nobody() -> bool:
    """Whether bwrap starts as host uid nobody: a root scorer whose runtime that uid can read.

    Otherwise (a Python installed under /root, say, or a scorer that is not root) bwrap starts as the
    scorer's own uid, and the sandbox's nobody maps to it: still no capabilities, and the same limits.
    """
    return os.geteuid() == 0 and all(_nobody_can_reach(path) for path in runtime_paths())


def private_paths(settings: ScorerSettings) -> list[Path]:
    """Paths the child must never see; refuses a set-up in which the sandbox would expose one of them."""
    private = sorted({path.resolve() for path in [*settings.sandbox_hidden_paths, settings.cache_dir]})
    sandbox = settings.sandbox_dir.resolve()
    for path in private:
        if sandbox == path or path in sandbox.parents:
            raise ValueError(f"SCORER_SANDBOX_DIR ({sandbox}) lies inside the private path {path}; "
                             "put the sandbox dir elsewhere")
        for runtime in runtime_paths():
            if runtime == path or runtime in path.parents or path in runtime.parents:
                raise ValueError(f"the Python runtime path {runtime}, which the sandbox exposes read-only, "
                                 f"overlaps the private path {path}; install the platform outside it")
    return private


def check_sandbox(settings: ScorerSettings) -> list[str]:
    """Fail at start-up, not on the first job, if the sandbox cannot be built; return how it isolates."""
    bwrap_binary()
    seccomp_program()
    private_paths(settings)
    # A throwaway job's limits: the cgroups it could (or could not) create say how jobs will be isolated.
    probe = _Limits(settings, "probe")
    probe.cgroups.remove()
    return probe.describe()


class JobCgroups:
    """A memory and a pids cgroup for one job: cgroup v2 where it is mounted with both controllers, else v1."""

    def __init__(self, name: str, memory_bytes: int, max_pids: int):
        self.name = name
        self.paths: dict[str, Path] = {}
        self.version: int | None = None
        try:
            self._create(memory_bytes, max_pids)
        except OSError:
            self.remove()
            self.paths = {}
            self.version = None

    def _create(self, memory_bytes: int, max_pids: int) -> None:
        unified = CGROUP_ROOT / "cgroup.controllers"
        if unified.exists() and {"memory", "pids"} <= set(unified.read_text().split()):
            path = CGROUP_ROOT / self.name
            path.mkdir()
            self.paths, self.version = {"unified": path}, 2
            (path / "memory.max").write_text(str(memory_bytes))
            (path / "memory.swap.max").write_text("0")
            (path / "pids.max").write_text(str(max_pids))
            return
        if not ((CGROUP_ROOT / "memory").is_dir() and (CGROUP_ROOT / "pids").is_dir()):
            raise OSError("no memory and pids cgroup controllers")
        self.version = 1
        for controller in ("memory", "pids"):
            path = CGROUP_ROOT / controller / self.name
            path.mkdir()
            self.paths[controller] = path
        (self.paths["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = self.paths["memory"] / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(memory_bytes))
        (self.paths["pids"] / "pids.max").write_text(str(max_pids))

    @classmethod
    def existing(cls, path: Path) -> "JobCgroups":
        """One cgroup folder already there (a dead scorer's), to kill its processes and remove it."""
        cgroups = cls.__new__(cls)
        cgroups.name, cgroups.paths, cgroups.version = path.name, {"existing": path}, None
        return cgroups

    @property
    def active(self) -> bool:
        return bool(self.paths)

    def join(self) -> None:
        """Move the calling process in (called in the child between fork and exec)."""
        for path in self.paths.values():
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def _memory_file(self, v1: str, v2: str) -> Path | None:
        if self.version == 2:
            return self.paths["unified"] / v2
        return self.paths["memory"] / v1 if "memory" in self.paths else None

    def peak_memory_bytes(self) -> int | None:
        path = self._memory_file("memory.max_usage_in_bytes", "memory.peak")
        try:
            return int(path.read_text()) if path is not None else None
        except (OSError, ValueError):
            return None

    def oom_killed(self) -> bool:
        path = self._memory_file("memory.oom_control", "memory.events")
        try:
            counts = dict(line.split() for line in path.read_text().splitlines()) if path is not None else {}
        except (OSError, ValueError):
            return False
        return int(counts.get("oom_kill", 0)) > 0

    def pids(self) -> list[int]:
        found = set()
        for path in self.paths.values():
            try:
                found |= {int(pid) for pid in (path / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return sorted(found)

    def kill_all(self) -> None:
        for _ in range(100):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for path in self.paths.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def owner_alive(name: str, prefix: str) -> bool:
    """Whether the scorer that made ``prefix<pid>-...`` is another live process."""
    try:
        pid = int(name[len(prefix):].split("-", 1)[0])
    except ValueError:
        return False
    if pid == os.getpid():
        return False  # our pid, from before a restart in a fresh PID namespace
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(settings: ScorerSettings) -> list[str]:
    """Remove the job dirs and cgroups of scorers that died mid-job; return what was removed."""
    removed = []
    if settings.sandbox_dir.is_dir():
        for path in settings.sandbox_dir.iterdir():
            if path.name.startswith("scorer") and not owner_alive(path.name, "scorer"):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(str(path))
    for controller_dir in [CGROUP_ROOT, CGROUP_ROOT / "memory", CGROUP_ROOT / "pids"]:
        if not controller_dir.is_dir():
            continue
        for path in controller_dir.glob(f"{CGROUP_PREFIX}*"):
            if path.is_dir() and not owner_alive(path.name, CGROUP_PREFIX):
                JobCgroups.existing(path).remove()
                removed.append(str(path))
    return removed


def scorer_sandbox_dir(settings: ScorerSettings) -> Path:
    """This scorer's own parent of job dirs, named after its pid so a restart can find a dead one's leftovers."""
    path = settings.sandbox_dir / f"scorer{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


class _Limits:
    """The kernel limits of one job: cgroups where writable, rlimits always, and a uid switch when root."""

    def __init__(self, settings: ScorerSettings, job_name: str):
        self.settings = settings
        self.cgroups = JobCgroups(f"{CGROUP_PREFIX}{os.getpid()}-{job_name}", settings.memory_limit_bytes,
                                  settings.max_processes)
        self.host_nobody = runs_as_host_nobody()

    def describe(self) -> list[str]:
        settings = self.settings
        memory = f"{settings.memory_limit_bytes >> 20} MiB"
        kernel = (f"cgroup v{self.cgroups.version} (memory {memory}, pids {settings.max_processes})"
                  if self.cgroups.active else f"no writable cgroup: address-space rlimit {memory} and process "
                                              f"rlimit {settings.max_processes} instead")
        return [f"bubblewrap sandbox as uid {NOBODY} " + ("(host uid nobody)" if self.host_nobody
                                                          else "(mapped to the scorer's uid, no capabilities)"),
                "no capabilities, no_new_privs, seccomp filter", "new user, pid, network, ipc, uts and cgroup "
                "namespaces (no network)", "read-only runtime; only the job dir is writable",
                "private /dev, /dev/shm and /proc; no /sys, no host /tmp", kernel,
                f"CPU time, file size and a {settings.disk_quota_bytes >> 20} MiB job-dir quota",
                "environment stripped of secrets"]

    def preexec(self) -> None:
        self.cgroups.join()
        settings = self.settings
        if not self.cgroups.active:
            resource.setrlimit(resource.RLIMIT_AS, (settings.memory_limit_bytes, settings.memory_limit_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (settings.disk_quota_bytes, settings.disk_quota_bytes))
        cpu = int(settings.run_timeout_seconds * (os.cpu_count() or 1)) + 60
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self.host_nobody:
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
        if not self.cgroups.active:
            # Counted per real uid: effective where the child runs as nobody, ignored for root.
            resource.setrlimit(resource.RLIMIT_NPROC, (settings.max_processes, settings.max_processes))


def _bwrap_command(work_dir: Path, stimuli_dirs: list[Path], settings: ScorerSettings, seccomp_fd: int, status_fd: int,
                   child: list[str], environment: Path | None, weights_dir: Path | None = None) -> list[str]:
    command = [bwrap_binary(), "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
               "--new-session", "--cap-drop", "ALL", "--uid", str(NOBODY), "--gid", str(NOBODY),
               "--hostname", "sandbox", "--seccomp", str(seccomp_fd), "--json-status-fd", str(status_fd)]
    for path in runtime_paths():
        command += ["--ro-bind", str(path), str(path)]
    for name in ("bin", "lib", "lib64", "sbin"):
        host = Path("/") / name
        if host.is_symlink():
            command += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            command += ["--ro-bind", str(host), f"/{name}"]
    command += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                "--proc", "/proc", "--tmpfs", "/dev"]
    for device in ("null", "zero", "random", "urandom"):
        command += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
    if settings.expose_gpus:
        # A CUDA scorer's GPUs (driver libraries come with /usr); nothing else of the host's /dev.
        for device in sorted(glob.glob("/dev/nvidia*")):
            if stat.S_ISCHR(os.stat(device).st_mode):
                command += ["--dev-bind", device, device]
    command += ["--symlink", "/proc/self/fd", "/dev/fd",
                "--size", str(settings.shm_bytes), "--tmpfs", "/dev/shm",
                "--bind", str(work_dir), JOB_ROOT,
                *(["--ro-bind", str(environment), ENVIRONMENT_ROOT] if environment else []),
                *(["--ro-bind", str(weights_dir), WEIGHTS_ROOT] if weights_dir else [])]
    for index, stimuli_dir in enumerate(stimuli_dirs):
        command += ["--ro-bind", str(stimuli_dir), stimuli_mount(index)]
    command += [
                "--symlink", f"{JOB_ROOT}/tmp", "/tmp", "--chdir", f"{JOB_ROOT}/tmp",
                # bwrap's own root is a tmpfs: read-only too, so the job dir and /dev/shm are all that is writable.
                "--remount-ro", "/", "--", *child]
    return command


class _OutputCapture:
    """Reads the child's stdout and stderr in a thread; keeps what arrives for the job log, up to a cap."""

    def __init__(self, stream, limit: int):
        self.stream, self.limit = stream, limit
        self.total = 0
        self.tail = b""  # the last few kilobytes, for error messages
        self._pending: list[bytes] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    @property
    def exceeded(self) -> bool:
        return self.total > self.limit

    def _read(self) -> None:
        while chunk := self.stream.read1(1 << 16):
            with self._lock:
                kept = max(0, min(len(chunk), self.limit - self.total))
                self.total += len(chunk)
                self.tail = (self.tail + chunk)[-4096:]
                if kept:
                    self._pending.append(chunk[:kept])

    def take(self) -> str:
        with self._lock:
            data, self._pending = b"".join(self._pending), []
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        self._thread.join(5)


class _StatusReader:
    """Reads bwrap's JSON status documents in a thread; ``child_started`` once bwrap reports the child's pid."""

    def __init__(self, fd: int):
        self.stream = os.fdopen(fd, "rb")
        self.child_started = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self.stream:
            if b'"child-pid"' in line:
                self.child_started = True

    def close(self) -> None:
        self._thread.join(5)
        self.stream.close()


def _directory_usage(path: Path, max_entries: int) -> tuple[int, int]:
    """Bytes allocated and entries below ``path``, stopping early past ``max_entries``."""
    used = entries = 0
    stack = [path]
    while stack and entries <= max_entries:
        try:
            with os.scandir(stack.pop()) as scan:
                for entry in scan:
                    entries += 1
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    used += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(Path(entry.path))
        except OSError:
            continue
    return used, entries


def open_child_file(work_dir: Path, name: str, max_bytes: int, what: str):
    """A file the child wrote, opened by fixed name without following links, or None when absent.

    Opened non-blocking, so a FIFO in its place cannot hang the scorer; it must be a regular file of at most
    ``max_bytes``, or :class:`SubmissionFailure` says why.
    """
    directory = os.open(work_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SubmissionFailure(f"{what} ({name}) is a symbolic link; the platform reads only regular files "
                                    "that the model's process wrote itself") from None
        raise
    finally:
        os.close(directory)
    source = os.fdopen(handle, "rb")
    info = os.fstat(handle)
    if not stat.S_ISREG(info.st_mode):
        source.close()
        raise SubmissionFailure(f"{what} ({name}) is not a regular file")
    if info.st_size > max_bytes:
        source.close()
        raise SubmissionFailure(f"{what} ({name}) is {info.st_size} bytes, over the limit of {max_bytes}")
    return source


def read_child_file(work_dir: Path, name: str, max_bytes: int, what: str) -> bytes | None:
    """The bytes of a file the child wrote (see :func:`open_child_file`), or None when absent."""
    source = open_child_file(work_dir, name, max_bytes, what)
    if source is None:
        return None
    with source:
        return source.read(max_bytes + 1)[:max_bytes]


def stimuli_mount(index: int) -> str:
    """Where the child sees the ``index``-th stimulus set of its request, read-only."""
    return f"{JOB_ROOT}/{STIMULI}/{index}"


def prepare_job_dir(settings: ScorerSettings, job_name: str) -> Path:
    """A fresh job dir, writable by the sandbox's user; its ``stimuli`` and ``tmp`` exist before the child starts."""
    work_dir = scorer_sandbox_dir(settings) / job_name
    work_dir.mkdir(mode=0o700)
    for name in (STIMULI, "tmp"):
        (work_dir / name).mkdir()
    if runs_as_host_nobody():
        for path in (work_dir, work_dir / "tmp"):
            os.chown(path, NOBODY, NOBODY)
    return work_dir


def stage_weights(work_dir: Path, weights: dict[str, Path]) -> Path | None:
    """A folder beside the job dir holding each verified weights file under its declared name, for the sandbox to
    see read-only at /weights; None when there are none. Hard links where the cache shares the filesystem (no
    copy of a large file per job), copies elsewhere; either way readable by the sandbox's user, writable by none."""
    if not weights:
        return None
    folder = work_dir.with_name(f"{work_dir.name}-weights")
    folder.mkdir(mode=0o755)
    for name, source in weights.items():
        target = folder / name
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        os.chmod(target, 0o444)
    os.chmod(folder, 0o755)  # past the umask: the sandbox runs as another uid where the scorer is root
    return folder


def run_child(request: dict, work_dir: Path, stimuli_dirs: list[Path], settings: ScorerSettings, *,
              on_tick: Callable[[str], None], environment: Path | None = None,
              weights_dir: Path | None = None) -> SandboxResult:
    """Run the child on ``request`` in the sandbox; ``on_tick`` gets new log text about once a second.

    ``work_dir`` comes from :func:`prepare_job_dir`; the child sees it as ``/job`` and the ``index``-th
    of ``stimuli_dirs`` as :func:`stimuli_mount` says; ``environment``, a submission's own site folder, as
    ``/env``, read-only; ``weights_dir`` (from :func:`stage_weights`) as ``/weights``, read-only, named to the
    model by $CORTEXSCORE_WEIGHTS_DIR. ``on_tick`` may raise to abort the job.
    """
    for index in range(len(stimuli_dirs)):
        (work_dir / STIMULI / str(index)).mkdir(exist_ok=True)  # the mount points, made by the parent
    (work_dir / "request.json").write_text(json.dumps(request))
    limits = _Limits(settings, work_dir.name)
    env = {name: os.environ[name] for name in ENV_PASSTHROUGH if name in os.environ}
    package_roots = sorted({str(Path(module.__file__).parent.parent) for module in (cortexscore, scorer)})
    env.update(PATH="/usr/bin:/bin", HOME=f"{JOB_ROOT}/tmp", TMPDIR=f"{JOB_ROOT}/tmp", PYTHONUNBUFFERED="1",
               PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=":".join(package_roots),
               OMP_NUM_THREADS=str(os.cpu_count() or 1), **{WEIGHTS_DIR_VARIABLE: WEIGHTS_ROOT})
    child = [sys.executable, "-m", "scorer.child", f"{JOB_ROOT}/request.json"]
    # bwrap reads the filter from one pipe and reports, on another, once the child has started.
    seccomp_read, seccomp_write = os.pipe()
    status_read, status_write = os.pipe()
    try:
        with os.fdopen(seccomp_write, "wb") as sink:
            sink.write(seccomp_program())
        command = _bwrap_command(work_dir, stimuli_dirs, settings, seccomp_read, status_write, child, environment,
                                 weights_dir)
        process = subprocess.Popen(command, cwd="/", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, preexec_fn=limits.preexec,
                                   pass_fds=(seccomp_read, status_write), start_new_session=True)
    except BaseException:
        limits.cgroups.remove()
        os.close(status_read)
        raise
    finally:
        os.close(seccomp_read)
        os.close(status_write)
    status = _StatusReader(status_read)
    output = _OutputCapture(process.stdout, settings.max_output_bytes)
    try:
        _supervise(process, work_dir, settings, output, lambda: on_tick(output.take()))
        oom = limits.cgroups.oom_killed()
        peak = limits.cgroups.peak_memory_bytes()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        limits.cgroups.remove()
        output.close()
        process.stdout.close()
        status.close()
    if not status.child_started:
        # bwrap failed before it ran any model code: the platform's fault, so the job is retried.
        raise SandboxUnavailable(f"the sandbox could not start (bwrap exited with {process.returncode}): "
                                 f"{output.tail.decode('utf-8', 'replace')[-1000:]}")
    if oom:
        raise SubmissionFailure(f"the model used more than its memory limit of {settings.memory_limit_bytes >> 20} "
                                "MiB and was killed")
    return SandboxResult(_outcome(process.returncode, work_dir, output.tail.decode('utf-8', 'replace'), settings), limits.describe(), peak)


def _supervise(process: subprocess.Popen, work_dir: Path, settings: ScorerSettings, output: _OutputCapture,
               tick: Callable[[], None]) -> None:
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
            if output.exceeded:
                raise SubmissionFailure(f"the model printed more than the limit of {settings.max_output_bytes >> 20} "
                                        "MiB of output and was stopped; print less")
            used, entries = _directory_usage(work_dir, settings.max_job_files)
            if used > settings.disk_quota_bytes or entries > settings.max_job_files:
                raise SubmissionFailure(f"the model wrote more than its job dir's quota of "
                                        f"{settings.disk_quota_bytes >> 20} MiB or {settings.max_job_files} files "
                                        "and was stopped")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        tick()


def _load_json(work_dir: Path, name: str, max_bytes: int) -> dict | None:
    data = read_child_file(work_dir, name, max_bytes, f"the model's {name}")
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError as error:
        raise SubmissionFailure(f"the model's {name} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise SubmissionFailure(f"the model's {name} must hold a JSON object")
    return value


def _outcome(returncode: int, work_dir: Path, tail: str, settings: ScorerSettings) -> dict:
    if returncode == 0:
        result = _load_json(work_dir, RESULT_FILE, settings.max_result_bytes)
        if result is not None:
            return result
        raise SubmissionFailure(f"the model process exited without writing {RESULT_FILE}")
    error = _load_json(work_dir, ERROR_FILE, settings.max_result_bytes)
    if error is not None:
        raise SubmissionFailure(f"the model code raised {str(error.get('type'))[:200]}: "
                                f"{str(error.get('message'))[:2000]}", model_error=True)
    tail = tail[-1500:]
    if returncode < 0 or returncode > 128:
        number = -returncode if returncode < 0 else returncode - 128
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else f"signal {number}"
        cause = {"SIGKILL": "it was killed, most likely for using more memory than allowed",
                 "SIGXCPU": "it used more CPU time than allowed", "SIGXFSZ": "it wrote a file larger than allowed",
                 "SIGSEGV": "it crashed (segmentation fault)", "SIGSYS": "it made a forbidden system call"}.get(
            name, f"it received {name}")
        raise SubmissionFailure(f"the model process ended abnormally: {cause}. Last output:\n{tail}")
    raise SubmissionFailure(f"the model process exited with code {returncode} without producing activations "
                            f"(did the code call exit()?). Last output:\n{tail}")
