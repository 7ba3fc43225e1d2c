"""`dreamlink serve`: localhost by default, TLS by pointing at a certificate, bad options → one line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.server.helpers import DREAMLINK, free_port, server_process, wait_health


def test_help_teaches_and_binds_localhost_by_default(run_cli) -> None:
    code, out, _ = run_cli("serve", "--help")
    assert code == 0 and "127.0.0.1" in out and "Example" in out and "--tls-cert" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tls-cert", "cert.pem"], "both --tls-cert FILE and --tls-key FILE"),
        (["--tls-cert", "missing.pem", "--tls-key", "missing.key"], "TLS file not found"),
        (["--db", "postgresql://localhost/x"], "PostgreSQL"),
    ],
)
def test_bad_options_give_one_line(run_cli, args, message) -> None:
    code, _, err = run_cli("serve", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_real_server_answers_health_and_hides_everything_else(tmp_path: Path) -> None:
    with server_process(tmp_path / "db.sqlite") as (base, proc):
        assert base.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        for path in ("/openapi.json", "/sessions", "/me", "/docs", "/nonexistent"):
            assert httpx.get(f"{base}{path}").status_code == 401
    assert (tmp_path / "db.sqlite").is_file()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a test certificate")
def test_tls_with_a_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            *DREAMLINK,
            "serve",
            "--db",
            str(tmp_path / "db.sqlite"),
            "--port",
            str(port),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        base = f"https://127.0.0.1:{port}"
        import ssl

        ctx = ssl.create_default_context(cafile=str(cert))
        ctx.check_hostname = False
        deadline_ok = False
        for _ in range(100):
            try:
                r = httpx.get(f"{base}/health", verify=ctx, timeout=1)
                deadline_ok = r.status_code == 200
                break
            except httpx.HTTPError:
                import time

                time.sleep(0.1)
        assert deadline_ok
        with pytest.raises(TimeoutError):
            wait_health(f"http://127.0.0.1:{port}", timeout=1)  # plain HTTP is not served
    finally:
        proc.terminate()
        proc.wait(10)
