"""Run every command of docs/operations.md, verbatim, in document order, in one bash session.

    python tests/operations_doc.py            # runs them (about 3-5 minutes); exit 0 when all succeeded
    python tests/operations_doc.py --list     # shows how each command is treated

The commands are the lines of the guide's ```sh blocks (comments after `#` kept, they are shell
comments) and its ```python blocks (saved under the file name their first comment gives, then run by
the guide's own `python <file>` line or here). The run happens in a copy of the repository (its .venv
linked), with its own PREFECT_HOME, so it never touches your profile, your .env or your data.

Two things differ from typing the commands, and only these:

* the Prefect server port: the guide's 4200 becomes a free port (`PREFECT_SERVER_API_PORT` for the
  verbatim `prefect server start`, and 4200 replaced in the other commands), since 4200 may be taken;
* long-running commands (`prefect server start`, `python -m formintake.s3server …`, `prefect worker
  start …`, `formintake watch`) run in the background, as they would in their own terminals, and are
  stopped at the end (SIGTERM, as systemd or Docker would).

Commands that cannot run here are listed in NOT_RUN with the reason; tests/test_operations_doc.py checks
that every command of the guide is either run by this script or listed there.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "operations.md"

NOT_RUN = {
    "mc alias set": "MinIO's client `mc` is not installed here (not on PyPI or in Debian; no other downloads)",
    "mc cp": "MinIO's client `mc` is not installed here (not on PyPI or in Debian; no other downloads)",
    "aws --endpoint-url": "the AWS CLI is not a formintake dependency and is not installed here",
    "prefect deployment schedule pause": "SCHEDULE_ID is a placeholder for the id `prefect deployment schedule ls` prints",
    "formintake waive 2023-3900d72b49": "needs the id of an application in your own records (the id is an example)",
}
# long-running commands: started in the background; (how to know it is ready)
LONG_RUNNING = {
    "prefect server start": "api",
    "python -m formintake.s3server": "envfile",
    "prefect worker start": "sleep",
    "formintake watch": "sleep",
}


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block of the guide."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def commands(text: str) -> list[tuple[str, str]]:
    """("sh", line) for each command line, ("python", body) for each python block, in order."""
    out = []
    for lang, body in blocks(text):
        if lang == "sh":
            out += [("sh", line) for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        elif lang == "python":
            out.append(("python", body))
    return out


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
             " sleep 3; for p in $BG; do kill -KILL $p 2>/dev/null || true; done; }", "trap stop_all EXIT"]
    n = 0
    for kind, cmd in commands(GUIDE.read_text(encoding="utf-8")):
        what = treatment(kind, cmd)
        if kind == "python":
            name = python_file(cmd)
            lines.append(f"cat > {name} <<'FORMINTAKE_PY'\n{cmd}FORMINTAKE_PY")
            lines.append(f"echo '$ python {name}'; python {name}")
            continue
        cmd = cmd.replace("4200", str(port))
        if what.startswith("not run"):
            lines.append(f"echo {shq('# not run: ' + cmd)}")
        elif what == "background":
            n += 1
            bare = cmd.split("#")[0].strip()
            kind_ready = next(v for k, v in LONG_RUNNING.items() if bare.startswith(k))
            lines.append(f"echo {shq('$ ' + cmd + ' &')}")
            lines.append(f"{bare} > bg{n}.log 2>&1 & BG=\"$BG $!\"")
            if kind_ready == "api":
                lines.append(f"python -c {shq(WAIT_API % port)}")
            elif kind_ready == "envfile":
                lines.append("for i in $(seq 120); do grep -q FORMINTAKE_S3_ENDPOINT .env 2>/dev/null && break; sleep 1; done")
                lines.append("grep -q FORMINTAKE_S3_ENDPOINT .env")
            else:
                lines.append("sleep 3")
        else:
            lines.append(f"echo {shq('$ ' + cmd)}")
            lines.append(cmd)
    lines.append("echo 'all commands of docs/operations.md ran'")
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


def sandbox() -> Path:
    """A copy of the repository's tracked files, its .venv linked (the guide starts with ./run)."""
    tmp = Path(tempfile.mkdtemp(prefix="formintake-opsdoc-"))
    work = tmp / "formintake"
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


def main(argv: list[str]) -> int:
    if "--list" in argv:
        for kind, cmd in commands(GUIDE.read_text(encoding="utf-8")):
            first = cmd.splitlines()[0]
            print(f"{treatment(kind, cmd):<12.80} {kind:<7} {first}")
        return 0
    port = free_port()
    work = sandbox()
    script = work / "operations_doc.sh"
    script.write_text(build_script(port), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FORMINTAKE_", "VIRTUAL_ENV"))}
    env.update(PREFECT_HOME=str(work.parent / "prefect-home"), PREFECT_SERVER_API_PORT=str(port),
               FORMINTAKE_LOG_FILE=str(work.parent / "formintake.log"))
    t0 = time.monotonic()
    proc = subprocess.run(["bash", str(script)], cwd=work, env=env)
    print(f"operations_doc: exit {proc.returncode} after {time.monotonic() - t0:.0f} s in {work}", file=sys.stderr)
    if proc.returncode == 0:
        shutil.rmtree(work.parent, ignore_errors=True)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
