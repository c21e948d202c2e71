"""docs/operations.md: every command is run verbatim by tests/operations_doc.py, or listed there (NOT_RUN)
with the reason it cannot run here. The full run (a Prefect server, SeaweedFS, a worker, the watcher,
deployment runs: minutes) is `python tests/operations_doc.py`; here the guide is checked to be runnable
as written, and the cheap commands are run."""

from __future__ import annotations

import subprocess
import sys

from tests import operations_doc as od

TEXT = od.GUIDE.read_text(encoding="utf-8")


def test_every_command_is_run_or_listed_with_a_reason():
    cmds = od.commands(TEXT)
    assert len(cmds) > 25
    treated = [od.treatment(kind, cmd) for kind, cmd in cmds]
    not_run = [c for (k, c), t in zip(cmds, treated) if t.startswith("not run")]
    # exactly the listed ones, each for its reason; nothing else is skipped
    assert {next(p for p in od.NOT_RUN if c.startswith(p)) for c in not_run} == set(od.NOT_RUN)
    assert all(t in ("run", "background") or t.startswith("not run: ") for t in treated)
    assert not any("docker" in c for _, c in cmds), "docker commands belong to deploy/README.md"
    # the guide's command blocks are fenced (indented blocks would not be found, hence not run)
    assert not [line for line in TEXT.splitlines() if line.startswith("    prefect ") or line.startswith("    formintake ")]


def test_python_blocks_name_their_file_and_compile():
    for kind, body in od.commands(TEXT):
        if kind == "python":
            name = od.python_file(body)
            compile(body, name, "exec")


def test_the_generated_script_is_valid_bash(tmp_path):
    script = tmp_path / "ops.sh"
    script.write_text(od.build_script(4999), encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text(encoding="utf-8")
    assert "4200" not in text.replace("# not run", "")  # the port is replaced everywhere it is run
    assert "prefect server start > bg1.log 2>&1 &" in text


def test_watch_and_version_commands_answer():
    """The cheap commands of the guide that need no server: the CLI and the watcher's help."""
    for args in (["--version"], ["watch", "--help"]):
        p = subprocess.run([sys.executable, "-m", "formintake.cli", *args], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
