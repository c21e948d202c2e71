"""The exception report in a real browser (headless Debian Chromium via Playwright; no browser download)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from formintake.reports import write_exceptions_html
from tests.test_reports import make_input, rule_titles  # noqa: F401  (autouse fixture: titles for codes)

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture()
def page(tmp_path: Path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("no /usr/bin/chromium")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    html = tmp_path / "exceptions.html"
    html.write_bytes(write_exceptions_html(make_input()))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            requests: list[str] = []
            pg.on("request", lambda r: requests.append(r.url))
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(html.as_uri())
            pg.wait_for_load_state("load")
            yield pg
            assert errors == [], errors
            assert all(u.startswith("file://") for u in requests), requests  # nothing from the network
        finally:
            browser.close()


def visible_rows(pg, selector: str = "tr.finding") -> list[dict]:
    return pg.eval_on_selector_all(
        selector,
        "els => els.filter(e => e.offsetParent !== null).map(e => ({unit: e.dataset.unit, sev: e.dataset.severity,"
        " code: e.dataset.code}))",
    )


def test_summary_and_filters(page):
    pg = page
    assert pg.title() == "2023年新型信息消费示范项目 申报材料异常报告"
    summary = pg.locator("#summary")
    assert summary.is_visible()
    assert pg.locator("#count-rejected").inner_text() == "3"
    assert pg.locator("#count-accepted").inner_text() == "2"
    assert pg.locator("#count-needs_review").inner_text() == "1"
    assert pg.locator("#count-unreadable").inner_text() == "1"
    assert pg.locator("#count-superseded").inner_text() == "1"
    assert pg.locator("#count-new").inner_text() == "6"
    assert pg.locator("#chart-rules svg").is_visible()

    count = pg.locator("#visible-count")
    assert count.inner_text() == "显示 9 条"
    assert len(visible_rows(pg)) == 9

    pg.screenshot(path="/tmp/report.png", full_page=True)

    # one unit
    pg.select_option("#filter-unit", "深圳市")
    rows = visible_rows(pg)
    assert rows and {r["unit"] for r in rows} == {"深圳市"}
    assert len(rows) == 3
    assert count.inner_text() == "显示 3 条"
    assert pg.locator('section.unit[data-unit="江苏省"]').is_hidden()
    assert pg.locator('section.unit[data-unit="深圳市"]').is_visible()

    # back to all units, then hide warnings
    pg.select_option("#filter-unit", "")
    assert count.inner_text() == "显示 9 条"
    pg.locator('input[name=severity][value=warning]').uncheck()
    rows = visible_rows(pg)
    assert rows and all(r["sev"] != "warning" for r in rows)
    assert len(rows) == 6  # 5 errors + 1 info
    assert count.inner_text() == "显示 6 条"
    # 苏州 only had a warning: its application disappears
    assert pg.locator('section.app[data-app="app-js-3"]').is_hidden()

    # rule filter and text search combine with the others
    pg.locator('input[name=severity][value=warning]').check()
    pg.select_option("#filter-rule", "CENTER_AREA_BELOW_300")
    assert [r["code"] for r in visible_rows(pg)] == ["CENTER_AREA_BELOW_300"]
    pg.click("#filter-reset")
    pg.fill("#filter-text", "损坏的申报书")
    assert [r["code"] for r in visible_rows(pg)] == ["FILE_CORRUPT"]
    assert count.inner_text() == "显示 1 条"
    pg.fill("#filter-text", "没有这样的内容")
    assert count.inner_text() == "显示 0 条"
    assert pg.locator("#empty-filter").is_visible()
    pg.click("#filter-reset")
    assert count.inner_text() == "显示 9 条"
    # the clean application is listed again once filters are reset
    assert pg.locator('section.app[data-app="app-cm-1"]').is_visible()


def test_print_hides_filters(page):
    page.emulate_media(media="print")
    assert page.locator("#filters").is_hidden()
    assert page.locator("#summary").is_visible()


def test_ten_thousand_applications_render_and_filter(tmp_path):
    """The report of a 10,000-application run opens and its filters work (its opening time is measured
    by bench/scale.py, not asserted here)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("no /usr/bin/chromium")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    inp = make_input()
    base, n = inp.records, 10_000
    records = []
    for i in range(n):
        r = base[i % len(base)]
        records.append(r.model_copy(update={"application_id": f"{r.application_id}-{i:05d}",
                                            "source": r.source.model_copy(update={"key": f"{r.source.key}.{i:05d}"})}))
    inp.records = records
    from formintake.reports.common import unit_of

    shenzhen = sum(len(r.findings) for r in records if unit_of(r) == "深圳市")
    last_sz2 = max(i for i in range(n) if base[i % len(base)].application_id == "app-sz-2")
    html = tmp_path / "exceptions.html"
    html.write_bytes(write_exceptions_html(inp))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(html.as_uri(), timeout=120_000)
            pg.wait_for_load_state("load")
            assert pg.locator("section.app").count() == n
            total = int(pg.locator("#visible-count").get_attribute("data-total"))
            assert pg.locator("#visible-count").inner_text() == f"显示 {total} 条" and total > n // 2
            pg.select_option("#filter-unit", "深圳市")
            assert pg.locator("#visible-count").inner_text() == f"显示 {shenzhen} 条"
            first = pg.locator("section.app:not([hidden])").first
            assert first.get_attribute("data-unit") == "深圳市" and first.is_visible()
            pg.fill("#filter-text", f"app-sz-2-{last_sz2:05d}")
            assert sorted(r["code"] for r in visible_rows(pg)) == ["FIELD_INVALID_FORMAT", "PLATFORM_MAU_BELOW_100M"]
            pg.click("#filter-reset")
            assert pg.locator("#visible-count").inner_text() == f"显示 {total} 条"
            assert errors == []
        finally:
            browser.close()
