"""Attacks on the model sandbox, each tried by a submission at import time and again at forward time.

Every attack here worked against the sandbox before bubblewrap (issue 11). A model that finds its attack
succeeded raises ``ATTACK SUCCEEDED``, which fails its job; otherwise it goes on as a valid model. So for
each attack the job must complete with a normal score, and nothing outside its job dir may have changed.
"""
from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import ROOT, start_platform
from tests.zips import tiny_model_source, tutorial_files, write_zip

pytestmark = pytest.mark.slow

TOKEN = "sandbox-attack-test-token-0123456789abcdef"
BENCHMARK = "Synthetic2026.IT-pls"
SITE_PACKAGES = next(Path(path) for path in sys.path if path.endswith("site-packages"))
PLANTED = [SITE_PACKAGES / "cortexscore-attack.pth", ROOT / "cortexscore-attack.txt"]
ABSTRACT_SOCKET = f"cortexscore-attack-{os.getpid()}"

PRELUDE = '''
import ctypes, glob, json, os, socket, subprocess
libc = ctypes.CDLL(None, use_errno=True)
_ATTACKED = []


def succeeded(what):
    raise RuntimeError("ATTACK SUCCEEDED: " + what)


def readable_files(pattern):
    found = []
    for path in glob.glob(pattern, recursive=True):
        try:
            with open(path, "rb") as handle:
                handle.read(1)
            found.append(path)
        except OSError:
            pass
    return found


def attack(when):
{body}


attack("import")
'''
FORWARD = "if not _ATTACKED:\n    _ATTACKED.append(1)\n    attack('forward')"

ATTACKS = {
    # Unmount what covered var/ and read the private assemblies.
    "umount_var": '''
for target in ({var!r}, {var!r} + "/objects", "/"):
    if libc.umount2(target.encode(), 2) == 0:
        succeeded("umount " + target)
    subprocess.run(["umount", "-l", target], capture_output=True)
for path in readable_files({var!r} + "/**"):
    succeeded("read " + path)
''',
    # Remount / read-write and plant a .pth that the trusted scorer would run at its next start.
    "remount_root": '''
if libc.mount(None, b"/", None, 32 | 4096, None) == 0:
    succeeded("remounted /")
subprocess.run(["mount", "-o", "remount,rw", "/"], capture_output=True)
for target in {planted!r}:
    try:
        with open(target, "w") as handle:
            handle.write("import os\\n")
        succeeded("wrote " + target)
    except OSError:
        pass
''',
    # Unmount /proc, read the scorer's environment, join its network namespace and call the API.
    "proc_and_setns": '''
libc.umount2(b"/proc", 2)
for path in glob.glob("/proc/*/environ"):
    try:
        data = open(path, "rb").read()
    except OSError:
        continue
    if {token!r}.encode() in data or b"WORKER_TOKEN" in data:
        succeeded("read the worker token in " + path)
for path in glob.glob("/proc/*/ns/net"):
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        continue
    if libc.setns(handle, 0) == 0:
        succeeded("setns into " + path)
subprocess.run(["nsenter", "--net=/proc/1/ns/net", "true"], capture_output=True)
for port in ({api_port}, {store_port}):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2)
        succeeded(f"connected to the platform on port {{port}}")
    except OSError:
        pass
''',
    # Leave the job's pids cgroup, so the fork limit no longer applies.
    "cgroup_escape": '''
for path in glob.glob("/sys/fs/cgroup/**/cgroup.procs", recursive=True):
    try:
        with open(path, "w") as handle:
            handle.write(str(os.getpid()))
        succeeded("moved into " + path)
    except OSError:
        pass
os.makedirs("/job/tmp/cg", exist_ok=True)
if libc.mount(b"cgroup", b"/job/tmp/cg", b"cgroup", 0, b"pids") == 0:
    succeeded("mounted a cgroup hierarchy")
''',
    # Overwrite other models' cached activations and layer commitments.
    "cache_overwrite": '''
for path in glob.glob({cache!r} + "/**/*", recursive=True):
    if os.path.isfile(path) and "forged" not in path:
        try:
            with open(path, "r+b") as handle:
                handle.write(b"forged")
            succeeded("overwrote " + path)
        except OSError:
            pass
try:  # the test checks that the real cache has no such file: inside, /tmp is the job's own
    os.makedirs({cache!r} + "/activations/00", exist_ok=True)
    open({cache!r} + "/activations/00/forged.npz", "wb").write(b"forged")
except OSError:
    pass
''',
    # Find the neural responses (to return them as features) and the scorer's cache, wherever they are.
    "find_assemblies": '''
for pattern in ({var!r} + "/**/*.nc", {cache!r} + "/**", "/tmp/**/*.nc", "/*.nc", "/*/*.nc", "/*/*/*.nc"):
    for path in readable_files(pattern):
        succeeded("found " + path)
''',
    # Read a concurrently running job's dir (another user's zip) through the host's sandbox dir.
    "other_job_dirs": '''
for path in readable_files({sandbox!r} + "/**/submission.zip"):
    if not path.startswith("/job/"):
        succeeded("read another job's " + path)
''',
    # Connect to a unix socket in the host's /tmp, and to an abstract one on the host's network namespace.
    "unix_sockets": '''
for address in ({socket_path!r}, "\\0" + {abstract!r}):
    client = socket.socket(socket.AF_UNIX)
    try:
        client.connect(address)
        succeeded("connected to the host's unix socket " + repr(address))
    except OSError:
        pass
    finally:
        client.close()
''',
    # Leave a file in /dev/shm after the job (the test looks for it on the host).
    "dev_shm": '''
with open("/dev/shm/cortexscore-leftover-" + when, "w") as handle:
    handle.write("left behind")
''',
    # Name another model's cache file as this model's output in result.json.
    "name_foreign_output": '''
import scorer.child
dumps = scorer.child.json.dumps

def forged(value, *args, **kwargs):
    if isinstance(value, dict) and "layers" in value:
        value = dict(value, outputs={{"stimuli": {victim_entry!r}}})
    return dumps(value, *args, **kwargs)

scorer.child.json.dumps = forged
''',
}


@pytest.fixture(scope="module")
def attack_platform(tmp_path_factory):
    var = tmp_path_factory.mktemp("attack-platform")
    running = start_platform(var / "var", scorers=1, SCORER_RUN_TIMEOUT_SECONDS="120",
                             SCORER_MEMORY_LIMIT_BYTES=str(2 << 30), SCORER_DISK_QUOTA_BYTES=str(512 << 20),
                             SCORER_MAX_PROCESSES="64", SCORER_SANDBOX_DIR=str(var / "sandbox"),
                             API_WORKER_TOKEN=TOKEN, STORE_WORKER_TOKEN=TOKEN, SCORER_WORKER_TOKEN=TOKEN)
    running.sandbox_dir = var / "sandbox"
    yield running
    running.stop()


def submit(platform, path: Path) -> str:
    with platform.client() as client, open(path, "rb") as handle:
        response = client.post("/submissions", files={"file": handle}, data={"benchmarks": BENCHMARK})
    assert response.status_code == 202, response.text
    OWNER_SECRETS[response.json()["id"]] = response.json()["owner_secret"]
    return response.json()["id"]


# The owner secret of each anonymous upload, which reading its logs needs.
OWNER_SECRETS: dict[str, str] = {}


def model_zip(tmp_path: Path, name: str, prelude: str = "", forward_hook: str = "pass", seed: int = 0,
              **overrides) -> Path:
    source = prelude + tiny_model_source(name, forward_hook=forward_hook, seed=seed)
    files = tutorial_files(root=f"sub_{name}", **{"models/base_models.py": source}, **overrides)
    return write_zip(tmp_path / f"{name}.zip", files)


def scorer_pids(platform) -> list[int]:
    children = Path(f"/proc/{platform.process.pid}/task/{platform.process.pid}/children").read_text().split()
    return [int(pid) for pid in children if b"\0-m\0scorer\0" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def once(code: str) -> str:
    """A forward hook that runs ``code`` on the first forward pass only."""
    body = "\n".join("    " + line for line in code.splitlines())
    return f"global _ONCE\nif not globals().get('_ONCE'):\n    _ONCE = True\n{body}"


def tree_digest(root: Path) -> dict[str, str]:
    """Every file's sha256, but for logs and the database, which the platform itself keeps writing."""
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(root.rglob("*"))
            if path.is_file() and not path.name.endswith((".log", ".db", ".db-wal", ".db-shm", ".db-journal"))}


def unchanged(before: dict[str, str], after: dict[str, str]) -> bool:
    """No file in ``before`` was changed or removed (new files are the platform's own work)."""
    return {path: digest for path, digest in after.items() if path in before} == before


@pytest.fixture
def host_listeners(tmp_path):
    """A unix socket in the host's /tmp and an abstract one; records any connection."""
    connections: list[str] = []
    servers = []
    for address in (str(tmp_path / "host.sock"), "\0" + ABSTRACT_SOCKET):
        server = socket.socket(socket.AF_UNIX)
        server.bind(address)
        server.listen()
        server.settimeout(0.5)
        servers.append(server)
    stop = threading.Event()

    def accept(server):
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                connections.append(repr(server.getsockname()))
                connection.close()
            except OSError:
                continue

    threads = [threading.Thread(target=accept, args=(server,), daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    yield str(tmp_path / "host.sock"), connections
    stop.set()
    for thread in threads:
        thread.join()
    for server in servers:
        server.close()


def test_each_attack_fails_and_its_job_still_scores(attack_platform, tmp_path, host_listeners):
    platform = attack_platform
    socket_path, connections = host_listeners
    victim_zip = model_zip(tmp_path, "victim", seed=7)  # other weights than the attackers'
    victim = platform.wait_for(submit(platform, victim_zip))
    assert victim["status"] == "completed", victim
    [victim_score] = victim["scores"]
    cache = platform.var / "scorer-1"
    victim_entry = next(str(path) for path in (cache / "activations").rglob("*.npz"))
    cache_before = tree_digest(cache)
    var_before = tree_digest(platform.var)
    shm_before = set(os.listdir("/dev/shm"))
    values = dict(var=str(platform.var), planted=[str(path) for path in PLANTED], token=TOKEN,
                  api_port=platform.port, store_port=platform.store_port, cache=str(cache),
                  sandbox=str(platform.sandbox_dir), socket_path=socket_path, abstract=ABSTRACT_SOCKET,
                  victim_entry=victim_entry)
    submitted = {}
    for name, body in ATTACKS.items():
        indented = "\n".join("    " + line for line in body.format(**values).strip().splitlines())
        prelude = PRELUDE.replace("{body}", indented)
        submitted[name] = submit(platform, model_zip(tmp_path, name, prelude=prelude, forward_hook=FORWARD))
    outcomes = {name: platform.wait_for(submission_id, timeout=600) for name, submission_id in submitted.items()}
    failures = {name: body["scores"][0].get("message") for name, body in outcomes.items()
                if body["status"] != "completed"}
    assert failures == {}, f"attacks that failed their job (ATTACK SUCCEEDED means the sandbox let them through): " \
                           f"{failures}\n{platform.logs()[-3000:]}"
    for name, body in outcomes.items():
        [score] = body["scores"]
        assert score["status"] == "succeeded" and 0 < score["ceiled"] <= 1.5, (name, score)
        assert score["attempts"] == 1, (name, score)
    # Nothing outside the job dirs changed: the planted files, the store's data, the cache's old entries.
    assert [path for path in PLANTED if path.exists()] == []
    assert unchanged(var_before, tree_digest(platform.var))
    assert unchanged(cache_before, tree_digest(cache))
    assert list(cache.rglob("forged*")) == []
    assert connections == [], "a sandboxed model reached a unix socket of the host"
    assert {name for name in os.listdir("/dev/shm") if name.startswith("cortexscore-leftover")} - shm_before == set()
    # The victim, resubmitted, scores exactly as before: its cached activations were neither forged nor stolen.
    again = platform.wait_for(submit(platform, victim_zip))
    assert again["scores"][0]["ceiled"] == pytest.approx(victim_score["ceiled"], abs=1e-12)
    stolen = outcomes["name_foreign_output"]["scores"][0]
    assert stolen["ceiled"] != pytest.approx(victim_score["ceiled"], abs=1e-6)


# Code run after each layer file of the child is written and closed; ``{}`` is the body, with ``self`` the writer.
REWRITE_LAYER = ("import numpy, cortexscore.stored as stored\n_close = stored.NpyRowWriter.close\n"
                 "def close(self):\n    _close(self)\n    {}\nstored.NpyRowWriter.close = close\n")

FAILURES = {
    "malformed_result": ("import scorer.child\nscorer.child.json.dumps = lambda *a, **k: '{not json'\n",
                         "result.json is not valid JSON"),
    "malformed_error": ("import scorer.child\nscorer.child.json.dumps = lambda *a, **k: '{not json'\n"
                        "raise RuntimeError('and a broken error.json')\n", "error.json is not valid JSON"),
    "missing_result": ("import pathlib\n_write = pathlib.Path.write_text\n"
                       "pathlib.Path.write_text = lambda self, *a, **k: None if self.name == 'result.json' "
                       "else _write(self, *a, **k)\n", "exited without writing result.json"),
    "wrong_result_fields": ("import scorer.child\nscorer.child.json.dumps = lambda *a, **k: '{\"layers\": 5}'\n",
                            "result.json is malformed"),
    "symlinked_output": ("import os\nos.symlink('/job/tmp/elsewhere.npy', '/job/activations-0-0.npy')\n",
                         "is a symbolic link"),
    # The layer files are rewritten after the child's own writer closed them: the scorer checks what is on disk.
    "too_few_rows": (REWRITE_LAYER.format("numpy.save(self.path, numpy.load(self.path)[:-1])"),
                     "rows; the stimulus set has"),
    "truncated_layer": (REWRITE_LAYER.format("open(self.path, 'r+b').truncate(self.path.stat().st_size - 4)"),
                        "but its header says"),
    "too_many_features": (REWRITE_LAYER.format(
        "values = numpy.load(self.path)\n    with open(self.path, 'wb') as handle:\n"
        "        numpy.lib.format.write_array_header_1_0(handle, {'descr': '<f4', 'fortran_order': False, "
        "'shape': (len(values), 4_000_001)})\n        handle.write(values.tobytes())"), "over the limit of 4000000"),
    "oversized_bibtex": ("", "bibtex is 100000 bytes, over the limit"),
}


def test_bad_results_are_named_submission_failures_with_one_attempt(attack_platform, tmp_path):
    platform = attack_platform
    submitted = {}
    for name, (code, _) in FAILURES.items():
        source = tiny_model_source(name, forward_hook=once(code) if code else "pass")
        if name == "oversized_bibtex":
            source = source.replace('def get_bibtex(name):\n    return ""', 'def get_bibtex(name):\n    return "x" * 100000')
        files = tutorial_files(root=f"sub_{name}", **{"models/base_models.py": source})
        submitted[name] = submit(platform, write_zip(tmp_path / f"{name}.zip", files))
    for name, submission_id in submitted.items():
        body = platform.wait_for(submission_id, timeout=300)
        [score] = body["scores"]
        assert body["status"] == "failed" and score["status"] == "failed", (name, score)
        assert FAILURES[name][1] in score["message"], (name, score["message"])
        assert score["attempts"] == 1, (name, score)


RESOURCE_BOMBS = {
    "memory_bomb": ("chunks = []\nwhile True:\n    chunks.append(b'\\x01' * (64 << 20))\n",
                    "more than its memory limit"),
    "fork_bomb": ("import os\nwhile True:\n    os.fork()\n", "Resource temporarily unavailable"),
    "write_10gb": ("block = b'\\0' * (64 << 20)\nwith open('/job/tmp/big', 'wb') as handle:\n"
                   "    for _ in range(160):\n        handle.write(block)\n", ("File too large", "job dir's quota")),
    "stdout_60mb": ("line = 'x' * (1 << 20)\nfor _ in range(60):\n    print(line, flush=True)\n",
                    "printed more than the limit"),
    "daemonise": ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                  "        time.sleep(3600)\n    os._exit(0)\nos.wait()\n", "left 1 process(es) running"),
}


def test_resource_bombs_end_as_named_failures_and_leave_nothing_behind(attack_platform, tmp_path):
    platform = attack_platform
    submitted = {name: submit(platform, model_zip(tmp_path, name, forward_hook=once(code)))
                 for name, (code, _) in RESOURCE_BOMBS.items()}
    for name, submission_id in submitted.items():
        body = platform.wait_for(submission_id, timeout=600)
        [score] = body["scores"]
        assert body["status"] == "failed" and score["status"] == "failed", (name, score)
        causes = RESOURCE_BOMBS[name][1]
        assert any(cause in score["message"] for cause in ((causes,) if isinstance(causes, str) else causes)), \
            (name, score["message"])
        assert score["attempts"] == 1, (name, score)
    [scorer_pid] = scorer_pids(platform)
    status = dict(line.split(":", 1) for line in Path(f"/proc/{scorer_pid}/status").read_text().splitlines())
    assert int(status["VmHWM"].split()[0]) < 1 << 20, f"the scorer's peak RSS was {status['VmHWM'].strip()}"
    # Nothing left: no process of a job, no job dir, no cgroup, no /dev/shm file.
    # A sandbox of this platform names its job dir, under the platform's sandbox dir, on bwrap's command line.
    leftovers = [pid for pid in os.listdir("/proc") if pid.isdigit() and Path(f"/proc/{pid}/cmdline").exists()
                 and str(platform.sandbox_dir).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert leftovers == []
    assert [path for path in platform.sandbox_dir.rglob("*") if path.parent != platform.sandbox_dir] == []
    assert list(Path("/sys/fs/cgroup").glob(f"*/cortexscore-{scorer_pid}-*")) == []
    with platform.client() as client:
        assert client.get("/healthz").status_code == 200


def test_two_jobs_at_once_cannot_see_each_others_files(tmp_path):
    """Each model leaves a marker in its job dir, then, for 20 s, searches every path it can see for the other's."""
    search = ('import os, time, glob\n'
              'open("/job/tmp/marker-{me}", "w").write("here")\n'
              'started = time.time()\n'
              'def look():\n'
              '    for pattern in ("/job/**/marker-{other}", "/tmp/**/marker-{other}", "/dev/shm/**/marker-{other}",\n'
              '                    "/proc/*/cwd/**/marker-{other}", "{sandbox}/**/marker-{other}"):\n'
              '        found = glob.glob(pattern, recursive=True)\n'
              '        if found:\n'
              '            raise RuntimeError("SAW THE OTHER JOB: " + repr(found))\n'
              'while time.time() < started + 20:\n'
              '    look()\n'
              '    time.sleep(1)\n'
              'for top, folders, files in os.walk("/"):\n'
              '    folders[:] = [f for f in folders if os.path.join(top, f) not in ("/proc", "/usr", "/sys")]\n'
              '    if "marker-{other}" in files:\n'
              '        raise RuntimeError("SAW THE OTHER JOB in " + top)\n'
              'print(f"WINDOW {started} {time.time()}", flush=True)\n')
    platform = start_platform(tmp_path / "var", scorers=2, SCORER_SANDBOX_DIR=str(tmp_path / "sandbox"),
                              API_WORKER_TOKEN=TOKEN, STORE_WORKER_TOKEN=TOKEN, SCORER_WORKER_TOKEN=TOKEN)
    try:
        ids = {}
        for me, other in (("left", "right"), ("right", "left")):
            prelude = search.replace("{me}", me).replace("{other}", other).replace("{sandbox}",
                                                                                   str(tmp_path / "sandbox"))
            ids[me] = submit(platform, model_zip(tmp_path, me, prelude=prelude))
        bodies = {me: platform.wait_for(submission_id, timeout=300) for me, submission_id in ids.items()}
        assert all(body["status"] == "completed" for body in bodies.values()), bodies
        with platform.client() as client:
            logs = [client.get(f"/submissions/{submission_id}/logs",
                               headers={"X-Owner-Secret": OWNER_SECRETS[submission_id]}).json()["log"]
                    for submission_id in ids.values()]
        windows = [[float(value) for value in log.split("WINDOW ")[1].split()[:2]] for log in logs]
        assert max(start for start, _ in windows) < min(end for _, end in windows), \
            f"the two jobs did not run at the same time: {windows}"
    finally:
        platform.stop()


PROBE = '''
import json, os
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
print("PROBE " + json.dumps({
    "uid": os.getuid(), "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
    "seccomp": status["Seccomp"].strip(), "root": sorted(os.listdir("/")), "dev": sorted(os.listdir("/dev")),
    "writable": sorted(path for path in ("/", "/usr", "/job", "/job/stimuli/0", "/dev/shm", "/tmp", "/proc")
                       if os.access(path, os.W_OK)),
    "pids": sorted(int(pid) for pid in os.listdir("/proc") if pid.isdigit()),
    "env": sorted(os.environ)}), flush=True)
'''


def test_the_child_runs_unprivileged_in_a_minimal_root(attack_platform, tmp_path):
    platform = attack_platform
    submission_id = submit(platform, model_zip(tmp_path, "probe", forward_hook=once(PROBE)))
    assert platform.wait_for(submission_id)["status"] == "completed"
    with platform.client() as client:
        log = client.get(f"/submissions/{submission_id}/logs",
                         headers={"X-Owner-Secret": OWNER_SECRETS[submission_id]}).json()["log"]
    probe = __import__("json").loads(log.split("PROBE ", 1)[1].splitlines()[0])
    assert probe["uid"] == 65534 and probe["cap_eff"] == "0000000000000000"
    assert probe["no_new_privs"] == "1" and probe["seccomp"] == "2"
    assert "sys" not in probe["root"] and "var" not in probe["root"]
    assert set(probe["dev"]) <= {"null", "zero", "random", "urandom", "shm", "fd"}
    assert set(probe["writable"]) <= {"/job", "/dev/shm", "/tmp"}, probe["writable"]
    assert probe["pids"] == [1, 2], "the child sees only its own PID namespace"
    assert not [name for name in probe["env"] if "TOKEN" in name or "SECRET" in name or name.startswith("API_")]


def test_scorer_start_up_removes_what_dead_scorers_left(tmp_path):
    from scorer.config import ScorerSettings
    from scorer.sandbox import CGROUP_PREFIX, CGROUP_ROOT, remove_leftovers

    dead = 2 ** 22 + 12345  # above pid_max's default: no live process has it
    settings = ScorerSettings(worker_token=TOKEN, cache_dir=tmp_path / "cache", sandbox_dir=tmp_path / "sandbox",
                              sandbox_hidden_paths=[tmp_path / "cache"])
    leftover_job = settings.sandbox_dir / f"scorer{dead}" / "job7-abc"
    leftover_job.mkdir(parents=True)
    (leftover_job / "submission.zip").write_bytes(b"someone's model")
    live = settings.sandbox_dir / f"scorer{os.getppid()}" / "job8-def"  # a live scorer's job stays
    live.mkdir(parents=True)
    cgroups = [CGROUP_ROOT / controller / f"{CGROUP_PREFIX}{dead}-job7" for controller in ("memory", "pids")]
    made = []
    for path in cgroups:
        try:
            path.mkdir()
            made.append(path)
        except OSError:
            pass
    removed = remove_leftovers(settings)
    assert not leftover_job.parent.exists() and live.exists()
    assert [path for path in made if path.exists()] == [] and {str(path) for path in made} <= set(removed)
