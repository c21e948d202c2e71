"""The run's artifacts in a real Prefect UI (`prefect server start`, UI on), in headless Debian Chromium
at a 1400 px wide window: every column of the findings table starts within the visible width, the
summary shows Beijing time. Screenshots are kept in the test's tmp folder (and printed)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.test_reports import make_input, rule_titles  # noqa: F401  (autouse fixture: titles for codes)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
WIDTH = 1400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_ui(tmp_path_factory):
    """A Prefect server with its UI on a free loopback port, its own PREFECT_HOME; stopped afterwards."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("no /usr/bin/chromium")
    home = tmp_path_factory.mktemp("prefect-ui")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    url = f"http://127.0.0.1:{port}"
    # the UI calls PREFECT_UI_API_URL (default: the API URL setting, else port 4200)
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="true",
               PREFECT_API_URL=f"{url}/api", PREFECT_UI_API_URL=f"{url}/api")
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                             str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/health", timeout=2)
                break
            except Exception:  # noqa: BLE001 - not yet
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("prefect server did not start:\n" + (home / "server.log").read_text()[-3000:])
                time.sleep(1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def artifacts(prefect_ui):
    """A flow run that publishes the findings table and the summary exactly as the ingest flow does."""
    from prefect import flow
    from prefect.artifacts import create_markdown_artifact, create_table_artifact
    from prefect.client.orchestration import get_client
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from formintake.reports.artifacts import findings_table
    from formintake.reports.markdown import summary_markdown

    @flow(name="formintake-artifacts-ui")
    def publish():
        inp = make_input()
        create_table_artifact(table=findings_table(inp.records), key="formintake-2023-findings", description="Findings")
        create_markdown_artifact(markdown=summary_markdown(inp), key="formintake-2023-summary")

    with temporary_settings({PREFECT_API_URL: f"{prefect_ui}/api"}):
        publish()
        # send this run's queued logs and events to THIS server while it is up: left queued, they would
        # be retried against it after it stops, and the session's prefect_test_harness would wait for
        # them forever when it drains the same workers at teardown
        APILogWorker.drain_all()
        EventsWorker.drain_all()
        with get_client(sync_client=True) as client:
            return {a.key: a for a in client.read_artifacts()}


@pytest.fixture()
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page(viewport={"width": WIDTH, "height": 900}, locale="zh-CN")
        finally:
            browser.close()


def _open(pg, url: str, selector: str) -> None:
    pg.goto(url)
    pg.wait_for_selector(selector, timeout=60_000)
    pg.wait_for_timeout(500)  # layout settles


def test_findings_table_columns_all_start_on_screen(prefect_ui, artifacts, page, tmp_path):
    art = artifacts["formintake-2023-findings"]
    _open(page, f"{prefect_ui}/artifacts/artifact/{art.id}", "table th")
    shot = tmp_path / "findings-artifact-1400.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    geo = page.evaluate("""() => {
        const t = document.querySelector('table');
        let box = t.parentElement;  // the nearest ancestor that clips the table is what one sees of it
        while (box && getComputedStyle(box).overflowX === 'visible') box = box.parentElement;
        const right = Math.min(window.innerWidth, (box || document.body).getBoundingClientRect().right);
        return {right, heads: [...t.querySelectorAll('th')].map(th => [th.innerText.trim(),
                Math.round(th.getBoundingClientRect().left)])};
    }""")
    heads = dict(geo["heads"])
    assert list(heads) == ["严重程度", "变化", "申报单位", "规则", "字段", "填写值", "说明"]
    late = {h: left for h, left in heads.items() if left >= geo["right"] - 40}
    assert not late, f"columns starting beyond the visible width {geo['right']} px: {late} (all: {heads})"
    body = page.inner_text("table")
    assert "已解决" in body and "错误" in body and "QUOTA_EXCEEDED" in body


def test_summary_artifact_reads_in_beijing_time(prefect_ui, artifacts, page, tmp_path):
    art = artifacts["formintake-2023-summary"]
    _open(page, f"{prefect_ui}/artifacts/artifact/{art.id}", "table th")
    page.screenshot(path=str(tmp_path / "summary-artifact-1400.png"), full_page=True)
    text = page.inner_text("body")
    assert "生成于 2026-11-27 22:05:01（北京时间）" in text
    assert "+00:00" not in text
