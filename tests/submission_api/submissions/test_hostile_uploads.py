"""Every hostile upload is refused with a clear 4xx before anything is stored, and leaves no residue."""
import select
import socket

import pytest

from tests.hostile_zips import CORPUS, MARKER, executable_setup_py
from tests.submission_api.submissions.test_submissions import residue, upload


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_zip_is_refused_without_residue(platform, tmp_path, case):
    build, statuses, word = CORPUS[case]
    path = tmp_path / f"{case}.zip"
    build(path)
    before = residue(platform)
    response = upload(platform, path)
    assert response.status_code in statuses, (case, response.status_code, response.text)
    assert word in response.text, (case, response.text)
    assert "Traceback" not in response.text
    assert residue(platform) == before


def test_setup_py_is_never_executed_at_upload(platform, tmp_path):
    MARKER.unlink(missing_ok=True)
    path = tmp_path / "evil_setup.zip"
    executable_setup_py(path)
    response = upload(platform, path, benchmarks="Synthetic2026.IT-pls")
    assert response.status_code == 202
    assert not MARKER.exists()
    with platform.client() as client:
        client.delete(f"/submissions/{response.json()['id']}",
                      headers={"X-Owner-Secret": response.json()["owner_secret"]})


def test_upload_past_the_limit_is_cut_off_at_the_limit(tmp_path):
    """The server answers 413 before the client has sent the whole body, and keeps nothing."""
    from tests.conftest import start_platform

    platform = start_platform(tmp_path / "var", scorers=0, API_MAX_UPLOAD_BYTES=str(1 << 20))
    try:
        boundary = "cortexscoreboundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.zip\"\r\n"
                "Content-Type: application/zip\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", platform.port)) as connection:
            # No Content-Length: chunked, so the server cannot refuse from the header and must count.
            connection.sendall((f"POST /submissions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode())
            connection.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
            chunk = b"\0" * (256 << 10)
            sent = 0
            connection.settimeout(10)
            try:
                for _ in range(400):  # up to 100 MiB, far past the 1 MiB limit
                    if select.select([connection], [], [], 0)[0]:
                        break  # the server has answered: stop sending
                    connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
            answer = connection.recv(4096).decode(errors="replace")
        assert answer.startswith("HTTP/1.1 413"), answer
        assert sent < 100 << 20, "the server read the whole upload instead of cutting it off"
        assert not list((platform.var / "tmp").glob("*")) and not (platform.var / "objects" / "submissions").exists()
    finally:
        platform.stop()
