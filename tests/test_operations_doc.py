"""docs/operations.md: every command is run verbatim by tests/operations_doc.py, or listed there (NOT_RUN,
INLINE_NOT_RUN) with the reason it cannot run here. `test_every_command_of_the_guide_runs` does the full
run (a Prefect server, SeaweedFS, a worker, the watcher, deployment runs: about 3 minutes); the other tests
check that the guide is runnable as written and that the lists of what is not run are exactly these."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests import operations_doc as od

TEXT = od.GUIDE.read_text(encoding="utf-8")
# `<FLOW_RUN_ID>`, `…`, a bare `SCHEDULE_ID` argument (a `$SCHEDULE_ID` set by the guide is fine)
PLACEHOLDER = re.compile(r"<[A-Z_]+>|…|(?<![$\w])[A-Z]+_ID\b(?!=)")


def test_every_command_is_run_or_listed_with_a_reason():
    cmds = od.commands(TEXT)
    assert len(cmds) > 35
    treated = [od.treatment(kind, cmd) for kind, cmd in cmds]
    not_run = [c for (k, c), t in zip(cmds, treated) if t.startswith("not run")]
    # only MinIO's `mc` is not run (not installable here); the list cannot grow without changing this test
    assert set(od.NOT_RUN) == {"mc alias set", "mc cp"}
    assert {next(p for p in od.NOT_RUN if c.startswith(p)) for c in not_run} == set(od.NOT_RUN)
    assert len(not_run) == 3, not_run
    assert all(t in ("run", "background") or t.startswith("not run: ") for t in treated)
    assert not any("docker" in c for _, c in cmds), "docker commands belong to deploy/README.md"
    # no placeholder left where a command is run
    assert not [c for (k, c), t in zip(cmds, treated) if t == "run" and PLACEHOLDER.search(c)]
    # the guide's command blocks are fenced (indented blocks would not be found, hence not run)
    assert not [line for line in TEXT.splitlines() if line.startswith("    prefect ") or line.startswith("    formintake ")]


def test_every_command_quoted_in_the_text_is_a_fenced_one_or_listed():
    fenced = [c for k, c in od.commands(TEXT) if k == "sh"]
    spans = od.inline_commands(TEXT)
    uncovered = [s for s in spans if od.inline_treatment(s, fenced) == "NOT COVERED"]
    assert not uncovered, f"quote these commands in a ```sh block (run by the test) or list them with the reason: {uncovered}"
    # the list of quoted commands that are not run is exactly this one, and each entry is still in the guide
    assert set(od.INLINE_NOT_RUN) == {
        "prefect server start --background", "prefect server stop", "formintake demo", "pip install awscli",
        "export FORMINTAKE_S3_…", "mc event add", "formintake 2023 YYYY-MM-DD HH:MM",
        "docker compose logs -f worker", "formintake check --out DIR", "python -m bench",
        "python tests/operations_doc.py"}
    assert set(od.INLINE_NOT_RUN) <= set(spans)
    # a new quoted command is caught
    assert od.inline_treatment("prefect flow-run logs <FLOW_RUN_ID>", fenced) == "NOT COVERED"
    assert od.inline_treatment("prefect deployment run … --watch", fenced) == "mention of a fenced command"
    assert PLACEHOLDER.search("prefect deployment schedule pause x SCHEDULE_ID") and PLACEHOLDER.search("logs <ID_X>")
    assert not PLACEHOLDER.search('prefect deployment schedule pause x "$SCHEDULE_ID"')


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


@pytest.mark.integration
def test_every_command_of_the_guide_runs(tmp_path):
    """The whole guide, verbatim, in one bash session: its own Prefect server, SeaweedFS, work pool,
    deployment, worker, watcher, deployment runs, in-process runs, artifacts, results, waiver."""
    rc, log = od.run(tmp_path, timeout=600)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert rc == 0 and "all commands of docs/operations.md ran" in text, text[-6000:]
    work = tmp_path / "formintake"
    assert (work / "exceptions.html").stat().st_size > 1000  # `aws s3 cp` of the latest report
    assert "# not run: mc cp" in text and "$ formintake waive 2023-3900d72b49" in text
