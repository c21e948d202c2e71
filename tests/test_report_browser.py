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
    # text from an upload is shown as text, never run
    assert pg.locator('section.app[data-app="app-sz-2"] .app-title').inner_text() == \
        "深圳某互联网有限公司 · <script>alert(1)</script>平台"


def test_print_hides_filters(page):
    page.emulate_media(media="print")
    assert page.locator("#filters").is_hidden()
    assert page.locator("#summary").is_visible()


def playwright_or_skip():
    """Playwright's sync API driving the system Chromium, or the test is skipped."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("no /usr/bin/chromium")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    return sync_api


def many(n: int):
    """make_input() with its records copied to ``n`` applications (ids and keys numbered)."""
    inp = make_input()
    base = inp.records
    records = []
    for i in range(n):
        r = base[i % len(base)]
        records.append(r.model_copy(update={"application_id": f"{r.application_id}-{i:05d}",
                                            "source": r.source.model_copy(update={"key": f"{r.source.key}.{i:05d}"})}))
    inp.records = records
    return inp, base


def open_report(p, path: Path, width: int = 1366):
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    pg = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(path.as_uri(), timeout=120_000)
    pg.wait_for_load_state("load")
    return browser, pg, errors


def test_ten_thousand_applications_render_and_filter(tmp_path):
    """The report of a 10,000-application run opens (a page of applications rendered from the embedded
    data) and its filters work over all of them (its opening time is measured by bench/scale.py, not
    asserted here)."""
    sync_api = playwright_or_skip()
    n = 10_000
    inp, base = many(n)
    from formintake.reports.common import unit_of

    shenzhen = sum(len(r.findings) for r in inp.records if unit_of(r) == "深圳市")
    last_sz2 = max(i for i in range(n) if base[i % len(base)].application_id == "app-sz-2")
    html = tmp_path / "exceptions.html"
    html.write_bytes(write_exceptions_html(inp))
    with sync_api.sync_playwright() as p:
        browser, pg, errors = open_report(p, html)
        try:
            assert pg.locator("section.app").count() == 50  # one page
            assert "共 10000 件申报" in pg.locator("#pager-top .range").inner_text()
            total = int(pg.locator("#visible-count").get_attribute("data-total"))
            assert pg.locator("#visible-count").inner_text() == f"显示 {total} 条" and total > n // 2
            pg.select_option("#filter-unit", "深圳市")
            assert pg.locator("#visible-count").inner_text() == f"显示 {shenzhen} 条"
            first = pg.locator("section.app").first
            assert first.get_attribute("data-unit") == "深圳市" and first.is_visible()
            pg.fill("#filter-text", f"app-sz-2-{last_sz2:05d}")
            assert sorted(r["code"] for r in visible_rows(pg)) == ["FIELD_INVALID_FORMAT", "PLATFORM_MAU_BELOW_100M"]
            pg.click("#filter-reset")
            assert pg.locator("#visible-count").inner_text() == f"显示 {total} 条"
            assert errors == []
        finally:
            browser.close()


def test_every_application_reachable_page_by_page_and_by_link(tmp_path):
    """With a few thousand applications a reviewer reaches every application's findings through the
    pages, an application's own link (#app-…) opens its page, and a unit's link in the summary its
    first page."""
    sync_api = playwright_or_skip()
    n = 3_000
    inp, _ = many(n)
    expected_rows = sum(len(r.findings) + len(r.resolved_findings) for r in inp.records)
    html = tmp_path / "exceptions.html"
    html.write_bytes(write_exceptions_html(inp))
    with sync_api.sync_playwright() as p:
        browser, pg, errors = open_report(p, html)
        try:
            seen = pg.evaluate("""() => {
                const ids = [], units = []; let rows = 0, pages = 0;
                for (;;) {
                    pages++;
                    document.querySelectorAll("#details section.app").forEach(a => { ids.push(a.dataset.app); units.push(a.dataset.unit); });
                    rows += document.querySelectorAll("#details tr.finding, #details tr.resolved").length;
                    const next = document.querySelector("#pager-bottom button.next");
                    if (next.disabled) break;
                    next.click();
                }
                return {ids, units, rows, pages};
            }""")
            assert seen["pages"] == n // 50
            assert sorted(seen["ids"]) == sorted(r.application_id for r in inp.records)
            assert seen["rows"] == expected_rows
            # units stay grouped in their order across pages (one run of each unit)
            runs = [u for i, u in enumerate(seen["units"]) if i == 0 or seen["units"][i - 1] != u]
            assert runs == ["江苏省", "深圳市", "中国移动通信集团有限公司", "未知推荐单位"]

            # an application on a late page, by its link, even while a filter hides it
            target = inp.records[-1].application_id
            pg.select_option("#filter-unit", "江苏省")
            pg.evaluate(f"location.hash = '#app-{target}'")
            app = pg.locator(f'section.app[data-app="{target}"]')
            app.wait_for(state="visible")
            assert app.is_visible() and pg.locator("#filter-unit").input_value() == ""
            # a unit's link in the summary table: the page where that unit starts
            pg.click('#by-unit a:has-text("未知推荐单位")')
            unit = pg.locator('section.unit[data-unit="未知推荐单位"]')
            assert unit.is_visible() and unit.locator("section.app").count() > 0
            assert errors == []
        finally:
            browser.close()


def test_layout_at_1400_px(tmp_path):
    """A rendered page of findings fits a 1400 px window: no sideways scrolling, every findings table
    within the width, every column of it starting inside the window."""
    sync_api = playwright_or_skip()
    inp, _ = many(200)
    html = tmp_path / "exceptions.html"
    html.write_bytes(write_exceptions_html(inp))
    with sync_api.sync_playwright() as p:
        browser, pg, errors = open_report(p, html, width=1400)
        try:
            assert pg.evaluate("document.scrollingElement.scrollWidth") <= 1400
            edges = pg.eval_on_selector_all(
                "table.findings", "ts => ts.map(t => [t.getBoundingClientRect().right,"
                " Math.max(...Array.from(t.querySelectorAll('th')).map(h => h.getBoundingClientRect().left))])")
            assert edges and all(right <= 1400 and last_th < 1400 for right, last_th in edges)
            pg.locator("#pager-top").scroll_into_view_if_needed()
            pg.screenshot(path=str(tmp_path / "exceptions-1400.png"))
            assert errors == []
        finally:
            browser.close()
