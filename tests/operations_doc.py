"""Run every command of docs/operations.md, verbatim, in document order, in one bash session.

    python tests/operations_doc.py            # runs them (about 3 minutes); exit 0 when all succeeded
    python tests/operations_doc.py --list     # shows how each command is treated

tests/test_operations_doc.py runs it in the test suite (``./run test``).

The commands are the lines of the guide's ```sh blocks (comments after `#` kept, they are shell
comments; a line ending in `\\` continues) and its ```python blocks (saved under the file name their
first comment gives, then run by the guide's own `python <file>` line or here). The run happens in a copy
of the repository (its .venv linked), with its own PREFECT_HOME, so it never touches your profile, your
.env or your data. Each command's start is printed with the seconds since the start (``[12s] $ cmd``).

What differs from typing the commands, and only this:

* the Prefect server port: the guide's 4200 becomes a free port (`PREFECT_SERVER_API_PORT` for the
  verbatim `prefect server start`, and 4200 replaced in the other commands), since 4200 may be taken;
* long-running commands (`prefect server start`, `python -m formintake.s3server …`, `prefect worker
  start …`, `formintake watch`) run in the background, as they would in their own terminals, and are
  stopped at the end (SIGTERM, as systemd or Docker would; then the whole process group is killed);
* the worker polls every 2 s instead of 10 (`PREFECT_WORKER_QUERY_SECONDS`, environment only), so the
  deployment runs start sooner;
* the script waits for the Prefect API just before the first command that needs it (as a person would
  wait for the server's banner), so the S3 steps run while the server starts.

Commands that cannot run here are listed in NOT_RUN (fenced commands) and INLINE_NOT_RUN (commands
quoted in the text) with the reason; tests/test_operations_doc.py checks that every command of the
guide is run by this script or listed there, and that those lists are exactly what they are.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "operations.md"

_NO_MC = "MinIO's client `mc` is not installed here (not on PyPI or in Debian, and nothing else may be downloaded)"
NOT_RUN = {
    "mc alias set": _NO_MC,
    "mc cp": _NO_MC,
}
# commands quoted in the running text (`...`) that are not a mention of a fenced command, and why they
# are not run; a quoted command with `…` matches a fenced one that starts like it
INLINE_NOT_RUN = {
    "prefect server start --background": "an alternative to the foreground `prefect server start` that the guide runs",
    "prefect server stop": "stops a `--background` server only (it reads its PID file); the guide's server is stopped by SIGTERM",
    "formintake demo": "the README's first command; tests/test_cli.py runs it",
    "pip install awscli": "outside the project's .venv; `./run` installs awscli into .venv (the test extra)",
    "export FORMINTAKE_S3_…": "shorthand for exporting the variables listed in section 2",
    "mc event add": "named as what is NOT needed (MinIO's own notification targets)",
    "formintake 2023 YYYY-MM-DD HH:MM": "a flow run's name, not a command",
    "docker compose logs -f worker": "docker commands belong to deploy/README.md",
    "formintake check --out DIR": "the local-folder mode (README); tests/test_cli.py runs it",
    "python -m bench": "the benchmarks: minutes of CPU, measured by hand (bench/)",
    "python tests/operations_doc.py": "this runner itself; tests/test_operations_doc.py runs it",
}
# long-running commands: started in the background; (how to know it is ready)
LONG_RUNNING = {
    "prefect server start": "api",
    "python -m formintake.s3server": "envfile",
    "prefect worker start": "sleep",
    "formintake watch": "sleep",
}
# commands that need the Prefect API (the script waits for it before the first of them)
NEEDS_API = ("prefect ", "formintake watch", "formintake run", "python deploy/register.py")
COMMAND_WORDS = ("prefect", "formintake", "python", "mc", "aws", "docker", "pip", "export", "./run")

FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.S | re.M)


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block of the guide (also those indented in a list item)."""
    out = []
    for m in FENCE.finditer(text):
        indent = len(m.group(1))
        body = "".join(line[indent:] if line[:indent].strip() == "" else line
                       for line in m.group(3).splitlines(keepends=True))
        out.append((m.group(2), body))
    return out


def commands(text: str) -> list[tuple[str, str]]:
    """("sh", line) for each command line, ("python", body) for each python block, in order."""
    out = []
    for lang, body in blocks(text):
        if lang == "sh":
            out += [("sh", line) for line in body.replace("\\\n", "").splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
        elif lang == "python":
            out.append(("python", body))
    return out


def inline_commands(text: str) -> list[str]:
    """Code spans of the running text (outside fenced blocks) that start like a command."""
    prose = FENCE.sub("", text)
    words = "|".join(re.escape(w) for w in COMMAND_WORDS)
    return [m.group(1) for m in re.finditer(r"`([^`\n]+)`", prose) if re.match(rf"({words}) ", m.group(1))]


def inline_treatment(span: str, fenced: list[str]) -> str:
    """How a quoted command is covered: a mention of a fenced command, or listed in INLINE_NOT_RUN."""
    if span in INLINE_NOT_RUN:
        return f"not run: {INLINE_NOT_RUN[span]}"
    pattern = re.compile(".*".join(re.escape(part.strip()) for part in span.split("…")))
    if any(pattern.match(c.split("#")[0].strip()) for c in fenced):
        return "mention of a fenced command"
    return "NOT COVERED"


def treatment(kind: str, cmd: str) -> str:
    if kind == "python":
        return "run"
    bare = cmd.split("#")[0].strip()
    for prefix, why in NOT_RUN.items():
        if bare.startswith(prefix):
            return f"not run: {why}"
    for prefix in LONG_RUNNING:
        if bare.startswith(prefix) and bare != "formintake watch --once":
            return "background"
    return "run"


def python_file(body: str) -> str:
    m = re.match(r"#\s*([\w.-]+\.py)", body.strip())
    if not m:
        raise SystemExit(f"a python block of the guide does not start with '# <file>.py': {body[:60]!r}")
    return m.group(1)


def build_script(port: int) -> str:
    lines = ["set -euo pipefail", "BG=''", "stop_all() { for p in $BG; do kill -TERM $p 2>/dev/null || true; done;"
             " sleep 2; for p in $BG; do kill -KILL $p 2>/dev/null || true; done; }", "trap stop_all EXIT",
             "step() { echo \"[${SECONDS}s] \\$ $1\"; }"]
    n = 0
    api_pending = False
    for kind, cmd in commands(GUIDE.read_text(encoding="utf-8")):
        what = treatment(kind, cmd)
        if kind == "python":
            name = python_file(cmd)
            lines.append(f"cat > {name} <<'FORMINTAKE_PY'\n{cmd}FORMINTAKE_PY")
            lines.append(f"step {shq('python ' + name)}; python {name}")
            continue
        cmd = cmd.replace("4200", str(port))
        bare = cmd.split("#")[0].strip()
        if api_pending and bare.startswith(NEEDS_API) and not bare.startswith("prefect config"):
            lines.append(f"step 'waiting for the Prefect API'; python -c {shq(WAIT_API % port)}")
            api_pending = False
        if what.startswith("not run"):
            lines.append(f"echo {shq('# not run: ' + cmd)}")
        elif what == "background":
            n += 1
            kind_ready = next(v for k, v in LONG_RUNNING.items() if bare.startswith(k))
            lines.append(f"step {shq(cmd + ' &')}")
            lines.append(f"{bare} > bg{n}.log 2>&1 & BG=\"$BG $!\"")
            if kind_ready == "api":
                api_pending = True
            elif kind_ready == "envfile":
                lines.append("for i in $(seq 120); do grep -q FORMINTAKE_S3_ENDPOINT .env 2>/dev/null && break; sleep 1; done")
                lines.append("grep -q FORMINTAKE_S3_ENDPOINT .env")
            else:
                lines.append("sleep 3")
        else:
            lines.append(f"step {shq(cmd)}")
            lines.append(cmd)
    lines.append("step 'all commands of docs/operations.md ran'")
    return "\n".join(lines) + "\n"


WAIT_API = ("import time,urllib.request\nfor i in range(240):\n    try:\n        "
            "urllib.request.urlopen('http://127.0.0.1:%d/api/health',timeout=2); break\n    except Exception: time.sleep(1)\n"
            "else: raise SystemExit('prefect server did not answer')")


def shq(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sandbox(parent: Path) -> Path:
    """A copy of the repository's tracked files, its .venv linked (the guide starts with ./run)."""
    work = parent / "formintake"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    for f in files:
        src = ROOT / f
        if src.is_file():
            dst = work / f
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    (work / ".venv").symlink_to(ROOT / ".venv")
    return work


def run(parent: Path, *, timeout: float, out=None) -> tuple[int, Path]:
    """Run the guide in ``parent``/formintake; returns (exit status, log file). The bash session and
    everything it started run in their own process group, killed at the end whatever happened."""
    port = free_port()
    work = sandbox(parent)
    script = work / "operations_doc.sh"
    script.write_text(build_script(port), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FORMINTAKE_", "VIRTUAL_ENV", "AWS_"))}
    env.update(PREFECT_HOME=str(parent / "prefect-home"), PREFECT_SERVER_API_PORT=str(port),
               PREFECT_WORKER_QUERY_SECONDS="2", FORMINTAKE_LOG_FILE=str(parent / "formintake.log"))
    log = parent / "operations_doc.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(["bash", str(script)], cwd=work, env=env, stdout=out or fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = -1
            fh.write(f"\n[timeout after {timeout:.0f} s]\n".encode())
        finally:
            _kill_group(proc)
    return rc, log


def _kill_group(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
    if proc.poll() is None:
        proc.wait()


def main(argv: list[str]) -> int:
    text = GUIDE.read_text(encoding="utf-8")
    if "--list" in argv:
        for kind, cmd in commands(text):
            print(f"{treatment(kind, cmd):<12.80} {kind:<7} {cmd.splitlines()[0]}")
        fenced = [c for k, c in commands(text) if k == "sh"]
        for span in inline_commands(text):
            print(f"{inline_treatment(span, fenced):<12.80} inline  {span}")
        return 0
    parent = Path(tempfile.mkdtemp(prefix="formintake-opsdoc-"))
    t0 = time.monotonic()
    rc, _ = run(parent, timeout=900, out=sys.stdout)
    print(f"operations_doc: exit {rc} after {time.monotonic() - t0:.0f} s in {parent}", file=sys.stderr)
    if rc == 0:
        shutil.rmtree(parent, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
