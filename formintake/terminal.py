"""The terminal side of a run: a console, a progress bar, the result table, and running the Prefect
flow from the command line (against the configured Prefect API, else Prefect's temporary local server).
Used by the CLI and the demo. rich and prefect are imported where used: `formintake extract` needs neither.
"""

from __future__ import annotations

import contextlib
import os

from formintake.models import STATUS_ZH


def console():
    from rich.console import Console  # deferred, like all of rich here: only commands that draw need it

    return Console(stderr=True)


def progress(console, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # deferred

    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.description}", style="dim"), console=console, transient=False)


def print_result(console, result, where: str) -> None:
    """The run's counts as a table; ``result`` is a RunResult or the flow's summary dict."""
    from rich.table import Table  # deferred (rich)

    get = (lambda k: result.get(k)) if isinstance(result, dict) else (lambda k: getattr(result, k, None))
    counts = get("counts") or {}
    t = Table(title=f"运行 {get('run_id')}：新处理 {get('processed')} 个文件，沿用上次结果 {get('reused')} 个")
    t.add_column("状态")
    t.add_column("数量", justify="right")
    for status in ("accepted", "needs_review", "rejected", "unreadable", "superseded"):
        t.add_row(f"{STATUS_ZH[status]} ({status})", str(counts.get(status, 0)))
    console.print(t)
    if get("same_as"):
        console.print(f"自运行 {get('same_as')} 以来没有变化（上传文件、轮次配置、豁免、程序）：沿用其记录和报告，未写入任何结果文件")
    if get("baseline_run_id") or get("new_findings") or get("resolved_findings"):
        console.print(f"与上次运行相比：新增问题 {get('new_findings')} 条，已解决 {get('resolved_findings')} 条")
    console.print(f"报告 / reports: {where}")


@contextlib.contextmanager
def env_overrides(values: dict[str, str]):
    """Environment variables set for the duration of a block (for Prefect and child processes)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def configured_prefect_api() -> str | None:
    """The Prefect API URL as Prefect itself resolves it: environment, then the active profile
    (``prefect config set PREFECT_API_URL=…``), then ``.env``/``prefect.toml`` — not only the environment."""
    from prefect.settings import get_current_settings  # deferred: Prefect is heavy, only `run`/`demo`/`watch`

    return os.environ.get("PREFECT_API_URL") or get_current_settings().api.url or None


@contextlib.contextmanager
def prefect_api(console):
    """Use the configured Prefect API, or Prefect's own temporary local server (ephemeral mode).

    The ephemeral server keeps its database in PREFECT_HOME (default ~/.prefect), so the demo's flow
    runs are there to see afterwards with `prefect server start` (UI at http://127.0.0.1:4200).
    A fresh machine migrates that database on the first start: allow it time. Its telemetry heartbeat
    is turned off: offline it only fails, and on a fresh SQLite database it raced the migrations
    ("database is locked") and printed a traceback on a newcomer's first screen.
    """
    url = configured_prefect_api()
    if url:
        console.print(f"使用已配置的 Prefect 服务 {url}")
        yield
        return
    console.print("未配置 PREFECT_API_URL：使用 Prefect 临时本地服务（首次启动需初始化数据库，约半分钟）…")
    with env_overrides({"PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
                        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS":
                            os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")}):
        yield


def run_flow(campaign: str, full: bool, console) -> dict:
    from prefect import tags  # deferred: Prefect is heavy, only for `run` and `demo`

    from formintake.flows import ingest as ingest_mod  # Prefect: heavy, only for `run` and `demo`

    with progress(console, "提取与检查") as prog:
        task = prog.add_task("", total=None)

        def tick(done, total, key):
            prog.update(task, completed=done, total=total, description=key)

        ingest_mod.progress_hook = tick
        try:
            with tags("formintake", f"campaign-{campaign}"):
                return ingest_mod.ingest(campaign=campaign, full=full)
        finally:
            ingest_mod.progress_hook = None
