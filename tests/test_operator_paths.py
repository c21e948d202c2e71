"""Operator paths that broke once: the local S3 launcher with relative paths, `demo` reading Prefect's
active profile, a clean console (tracebacks only in the log file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_s3server_with_relative_paths(tmp_path):
    """The command of docs/operations.md, verbatim, from a fresh folder."""
    import shlex

    proc = subprocess.Popen(shlex.split("python -m formintake.s3server .s3 --env-file .env"), cwd=tmp_path,
                            env=dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line)
            if line.startswith("environment written to"):
                break
        assert (tmp_path / ".env").is_file(), "".join(out)
        env = dict(l.split("=", 1) for l in (tmp_path / ".env").read_text().splitlines())
        assert env["FORMINTAKE_S3_ENDPOINT"].startswith("127.0.0.1:")
        assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
        assert (tmp_path / ".s3" / "data").is_dir() and not (tmp_path / ".s3" / ".s3").exists()
        # SeaweedFS's own log files stay with its data, not in /tmp
        assert any(p.name.startswith("weed.") for p in (tmp_path / ".s3" / "logs").iterdir())
    finally:
        proc.send_signal(signal.SIGTERM)  # like Ctrl+C: the launcher stops its server
        rc = proc.wait(30)
    assert rc == 0, "".join(out) + proc.stdout.read()
    assert "panic" not in "".join(out) and "goroutine" not in "".join(out)


def test_gitignore_has_local_s3_folder():
    root = Path(__file__).resolve().parent.parent
    assert ".s3/" in (root / ".gitignore").read_text().splitlines()


def test_demo_reads_the_active_prefect_profile(tmp_path):
    """`prefect config set PREFECT_API_URL=…` (the active profile, not the environment) counts as configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path)
    prefect = [sys.executable, "-m", "prefect"]
    code = "from formintake.terminal import configured_prefect_api; print(configured_prefect_api())"
    before = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert before.stdout.strip() == "None", before.stderr
    subprocess.run(prefect + ["config", "set", "PREFECT_API_URL=http://127.0.0.1:4999/api"], env=env, check=True,
                   capture_output=True, timeout=60)
    after = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert after.stdout.strip() == "http://127.0.0.1:4999/api", after.stderr


def test_console_shows_a_third_party_exception_as_one_line(tmp_path):
    log_file = tmp_path / "formintake.log"
    code = """
import logging
from formintake.logging_setup import setup_logging
setup_logging()
try:
    raise RuntimeError("database is locked")
except RuntimeError:
    logging.getLogger("docket.dependencies").exception("heartbeat failed, phone 13812345678")
"""
    p = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, FORMINTAKE_LOG_FILE=str(log_file)),
                       capture_output=True, text=True, timeout=60)
    assert "heartbeat failed" in p.stderr and "RuntimeError: database is locked" in p.stderr
    assert "Traceback" not in p.stderr and str(log_file) in p.stderr
    text = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "line 6, in <module>" in text
    assert "13812345678" not in text + p.stderr and "138****5678" in text  # masked in both
