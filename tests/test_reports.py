"""Report writers: CSV / XLSX / JSON / HTML / Markdown from hand-built records, and PII masking."""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pytest

from formintake.config import load_campaign
from formintake.models import Evidence, Finding, Record, SourceInfo, Waiver
from formintake.reports import (
    ReportInput,
    mask_pii,
    summarize,
    summary_markdown,
    write_applications_csv,
    write_applications_jsonl,
    write_applications_xlsx,
    write_exceptions_csv,
    write_exceptions_html,
    write_exceptions_json,
    write_exceptions_xlsx,
)
from formintake.reports.html import read_report_data
from formintake.reports.tabular import csv_safe, sheet_name

BOM = b"\xef\xbb\xbf"

# Chinese titles for codes whose rule modules may not be registered yet in this tree
TITLES = {
    "QUOTA_EXCEEDED": "体验中心推荐数量超过名额",
    "CENTER_AREA_BELOW_300": "体验中心面积低于300平方米",
    "USCC_REGION_MISMATCH": "信用代码登记地与注册地址不一致",
    "FIELD_MISSING": "必填项缺失",
    "FIELD_INVALID_FORMAT": "填写格式不正确",
    "PLATFORM_QUOTA_NONE": "大平台方向不限推荐数量",
    "CENTER_FUNCTIONS_INCOMPLETE": "体验中心功能不全",
    "PLATFORM_MAU_BELOW_100M": "平台月活用户数不足1亿",
    "RECOMMENDER_UNKNOWN": "推荐单位不在受理范围",
}


@pytest.fixture(autouse=True)
def rule_titles(monkeypatch):
    """Give unregistered codes a title for the duration of a test (never overwrite a real rule)."""
    from formintake.validators import RULES
    from formintake.validators.registry import Rule

    sev = {"CENTER_AREA_BELOW_300": "warning", "USCC_REGION_MISMATCH": "warning",
           "CENTER_FUNCTIONS_INCOMPLETE": "warning", "PLATFORM_QUOTA_NONE": "info"}
    for code, title in TITLES.items():
        if code not in RULES:
            monkeypatch.setitem(RULES, code, Rule(code, sev.get(code, "error"), "batch", None, title))


def _title(code: str) -> str:
    from formintake.validators import RULES

    return RULES[code].title_for(load_campaign("2023"))


def src(key: str, version: str = "v1", sha: str = "ab" * 32, at: str = "2023-09-01T02:00:00Z") -> SourceInfo:
    return SourceInfo(bucket="uploads", key=key, version_id=version, etag="e", sha256=sha, size=12345,
                      uploaded_at=at, recommender_path=key.split("/")[1])


def rec(app_id: str, unit: str | None, status: str, key: str, fields: dict, findings: list[Finding],
        direction: str | None = "experience_center", **kw) -> Record:
    return Record(application_id=app_id, campaign="2023", direction=direction, status=status,
                  recommender_path=unit, recommender_unit=unit, fields=fields, findings=findings,
                  source=src(key, **kw.pop("src_kw", {})), pipeline_version="0.1.0",
                  processed_at="2026-11-27T14:05:01Z", **kw)


def ev_table(t, r, c, label=None):
    return Evidence(method="docx-table", table=t, row=r, col=c, label=label)


def make_input(previous: bool = True) -> ReportInput:
    camp = load_campaign("2023")
    a1 = rec(
        "app-js-1", "江苏省", "rejected", "2023/江苏省/无锡体验中心申报书.docx",
        {"project_name": "无锡智慧信息消费体验中心", "applicant_name": "无锡某科技有限公司",
         "contact_phone": "13812345678", "area_sqm": 280.0, "functions": ["展示", "体验"]},
        [
            Finding(code="QUOTA_EXCEEDED", severity="error", field="recommend_rank", value=6, expected="前5名",
                    message="江苏省推荐的体验中心超过5个，本项目排序第6", hint="请推荐单位核减推荐数量",
                    clause="四（二）", change="new", evidence=ev_table(0, 4, 1, "推荐排序")),
            Finding(code="CENTER_AREA_BELOW_300", severity="warning", field="area_sqm", value=280.0,
                    expected="不低于300平方米", message="体验中心面积280平方米，低于300平方米",
                    hint="请核实面积", change="persisting", evidence=ev_table(3, 5, 1, "体验中心面积（平方米）")),
            Finding(code="USCC_REGION_MISMATCH", severity="warning", field="uscc", value="91110000MA01ABCD2X",
                    message="信用代码登记地为北京市，注册地址在江苏省", change="persisting",
                    waiver=Waiver(code="USCC_REGION_MISMATCH", application_id="app-js-1", field="uscc",
                                  by="王审核", at="2026-11-20T09:00:00Z", reason="已迁址，附营业执照")),
        ],
        resolved_findings=[Finding(code="FIELD_MISSING", severity="error", field="contact_email",
                                   message="电子邮箱未填写", change="resolved")],
        supersedes=[src("2023/江苏省/无锡体验中心申报书-旧.docx", version="v0")],
    )
    a2 = rec("app-js-2", "江苏省", "accepted", "2023/江苏省/南京大平台.pdf",
             {"project_name": "南京生活服务大平台", "applicant_name": "南京某网络有限公司"},
             [Finding(code="PLATFORM_QUOTA_NONE", severity="info", message="大平台方向不作推荐数量要求",
                      change="persisting")], direction="platform")
    a3 = rec("app-js-3", "江苏省", "needs_review", "2023/江苏省/苏州体验店.docx",
             {"project_name": "苏州体验店", "applicant_name": "苏州某电子有限公司"},
             [Finding(code="CENTER_FUNCTIONS_INCOMPLETE", severity="warning", field="functions", value=["展示"],
                      expected="展示、体验、销售、培训", message="未勾选体验、销售、培训", change="new",
                      evidence=Evidence(method="pdf-text", page=3, bbox=(72, 400, 300, 420)))])
    b1 = rec("app-sz-1", "深圳市", "unreadable", "2023/深圳市/损坏的申报书.pdf", {},
             [Finding(code="FILE_CORRUPT", severity="error", message="PDF交叉引用表损坏，无法打开",
                      hint="请重新导出PDF后上传", change="new", evidence=Evidence(method="file"))], direction=None)
    b2 = rec("app-sz-2", "深圳市", "rejected", "2023/深圳市/平台 申报书.docx",
             {"project_name": "<script>alert(1)</script>平台", "applicant_name": "深圳某互联网有限公司"},
             [Finding(code="PLATFORM_MAU_BELOW_100M", severity="error", field="mau_prev_avg", value=85000000,
                      expected="不低于100000000", message="上一年度平均月活8500万，低于1亿",
                      change="new", evidence=ev_table(2, 3, 1)),
              Finding(code="FIELD_INVALID_FORMAT", severity="error", field="contact_phone", value="=1381234",
                      expected="11位手机号或带区号的固定电话", message="联系电话格式不正确", change="new")],
             direction="platform")
    c1 = rec("app-cm-1", "中国移动通信集团有限公司", "accepted", "2023/中国移动通信集团有限公司/体验厅.docx",
             {"project_name": "5G智慧体验厅", "applicant_name": "中国移动通信集团江苏有限公司"}, [])
    d1 = rec("app-x-1", None, "rejected", "2023/某协会/申报书.docx",
             {"project_name": "某项目", "applicant_name": "某公司"},
             [Finding(code="RECOMMENDER_UNKNOWN", severity="error", field="recommender", value="某协会",
                      message="推荐单位“某协会”不在受理范围", change="new")])
    old = rec("app-js-1", "江苏省", "superseded", "2023/江苏省/无锡体验中心申报书-旧.docx",
              {"project_name": "无锡智慧信息消费体验中心", "applicant_name": "无锡某科技有限公司"}, [],
              superseded_by=src("2023/江苏省/无锡体验中心申报书.docx"), src_kw={"version": "v0"})
    return ReportInput(
        campaign=camp, run_id="20261127T140501Z", generated_at="2026-11-27T14:05:01+00:00",
        records=[a1, a2, a3, b1, b2, c1, d1], superseded=[old],
        quota_units=[
            {"unit": "江苏省", "kind_zh": "省级工信主管部门", "center_count": 6, "center_quota": 5, "extra_count": 1, "platform_count": 1, "over": True},
            {"unit": "深圳市", "kind_zh": "计划单列市", "center_count": 2, "center_quota": 5, "extra_count": 0, "platform_count": 1, "over": False},
        ],
        quota_cities=[
            {"city": "无锡市", "province": "江苏省", "kind": "地级市", "extras": 1, "quota": 2, "over": False},
            {"city": "苏州市", "province": "江苏省", "kind": "地级市", "extras": 3, "quota": 2, "over": True},
        ],
        previous_run_id="20261120T090000Z" if previous else None,
        stats={"processed": 8, "reused": 0, "seconds": 12.3},
    )


# ----------------------------------------------------------------------------------------------- summary


def test_summary_counts():
    s = summarize(make_input())
    assert s.applications == 7
    assert s.by_status == {"accepted": 2, "needs_review": 1, "rejected": 3, "unreadable": 1, "superseded": 1}
    assert s.severity == {"error": 5, "warning": 2, "info": 1}
    assert s.waived == 1
    assert s.changes == {"new": 6, "persisting": 3, "resolved": 1}
    assert [u.unit for u in s.by_unit][-1] == "未知推荐单位"
    js = next(u for u in s.by_unit if u.unit == "江苏省")
    assert (js.applications, js.errors, js.warnings, js.infos, js.waived, js.superseded) == (3, 1, 2, 1, 1, 1)
    assert s.by_rule[0].severity == "error"


# ------------------------------------------------------------------------------------------------- CSV


def _csv_rows(data: bytes) -> list[dict]:
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_exceptions_csv():
    data = write_exceptions_csv(make_input())
    rows = _csv_rows(data)
    header = data.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:15] == ["推荐单位", "申报单位", "项目名称", "文件", "规则代码", "规则", "严重程度", "字段",
                           "填写值", "应为", "位置", "说明", "修改建议", "变化", "豁免"]
    assert len(rows) == 10  # 9 findings + 1 resolved
    sev = [r["严重程度"] for r in rows]
    active = [r for r in rows if not r["豁免"] and r["变化"] != "已解决"]
    order = {"错误": 0, "警告": 1, "提示": 2}
    assert [order[r["严重程度"]] for r in active] == sorted(order[r["严重程度"]] for r in active)
    assert sev[:5] == ["错误"] * 5
    assert rows[-1]["变化"] == "已解决" and rows[-1]["规则代码"] == "FIELD_MISSING"
    waived = next(r for r in rows if r["规则代码"] == "USCC_REGION_MISMATCH")
    assert "王审核" in waived["豁免"] and "已迁址" in waived["豁免"]
    mau = next(r for r in rows if r["规则代码"] == "PLATFORM_MAU_BELOW_100M")
    assert mau["推荐单位"] == "深圳市" and mau["填写值"] == "85000000" and mau["位置"] == "表3 第4行 第2列"
    assert mau["字段"] == "上一年度平均月活用户数" and mau["规则"] == _title("PLATFORM_MAU_BELOW_100M")
    corrupt = next(r for r in rows if r["规则代码"] == "FILE_CORRUPT")
    assert corrupt["位置"] == "整个文件" and corrupt["规则"] == "文件损坏或无法打开"
    # formula injection from an upload is neutralised
    phone = next(r for r in rows if r["规则代码"] == "FIELD_INVALID_FORMAT")
    assert phone["填写值"] == "'=1381234"
    area = next(r for r in rows if r["规则代码"] == "CENTER_AREA_BELOW_300")
    assert area["填写值"] == "280" and area["变化"] == "持续"
    assert "\r\n" in data.decode("utf-8-sig")


def test_csv_safe():
    assert csv_safe("=SUM(A1)") == "'=SUM(A1)"
    assert csv_safe("+86 138") == "'+86 138"
    assert csv_safe("-5") == "-5"
    assert csv_safe("@x") == "'@x"
    assert csv_safe(["展示", "体验"]) == "展示、体验"
    assert csv_safe(None) == ""


def test_applications_csv_and_jsonl():
    inp = make_input()
    rows = _csv_rows(write_applications_csv(inp.records))
    assert len(rows) == 7
    r = next(x for x in rows if x["申报编号"] == "app-js-1")
    assert r["状态"] == "不予受理" and r["状态代码"] == "rejected"
    assert r["申报方向"] == "信息消费体验中心" and r["推荐单位"] == "江苏省"
    assert r["项目名称"] == "无锡智慧信息消费体验中心" and r["联系电话"] == "13812345678"
    assert r["功能"] == "展示、体验" and r["体验中心面积（平方米）"] == "280"
    assert r["错误数"] == "1" and r["警告数"] == "1" and r["已豁免数"] == "1"
    assert r["sha256"] == "ab" * 32 and r["文件版本"] == "v1"
    lines = write_applications_jsonl(inp.records).decode("utf-8").splitlines()
    assert len(lines) == 7
    back = [Record.model_validate_json(line) for line in lines]
    assert back[0] == inp.records[0]


def test_exceptions_json():
    doc = json.loads(write_exceptions_json(make_input()))
    assert doc["run_id"] == "20261127T140501Z" and doc["previous_run_id"] == "20261120T090000Z"
    assert doc["summary"]["by_status"]["rejected"] == 3
    assert len(doc["findings"]) == 10
    f = next(x for x in doc["findings"] if x["code"] == "QUOTA_EXCEEDED")
    for k in ("application_id", "unit", "applicant", "project", "file_key", "version", "code", "severity", "field",
              "value", "expected", "location", "message", "hint", "change", "waiver"):
        assert k in f
    assert f["value"] == 6 and f["location"] == "表1 第5行 第2列 “推荐排序”处" and f["change"] == "new"
    w = next(x for x in doc["findings"] if x["waiver"])
    assert w["waiver"]["by"] == "王审核"
    assert doc["superseded"][0]["superseded_by"]["key"].endswith("无锡体验中心申报书.docx")
    assert next(q for q in doc["summary"]["quota_units"] if q["unit"] == "江苏省")["over"] is True


# ------------------------------------------------------------------------------------------------ XLSX


def test_exceptions_xlsx():
    wb = openpyxl.load_workbook(io.BytesIO(write_exceptions_xlsx(make_input())))
    assert wb.sheetnames[0] == "汇总" and wb.sheetnames[-1] == "已替代"
    assert set(wb.sheetnames[1:-1]) == {"江苏省", "深圳市", "中国移动通信集团有限公司", "未知推荐单位"}
    for name in wb.sheetnames[1:]:
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert ws["A1"].font.bold
        assert ws.column_dimensions["B"].width >= 8
    js = wb["江苏省"]
    head = [c.value for c in js[1]]
    assert head[:4] == ["推荐单位", "申报单位", "项目名称", "文件"]
    body = [[c.value for c in row] for row in js.iter_rows(min_row=2)]
    assert len(body) == 6  # app-js-1: 3 findings + 1 resolved, app-js-2: 1, app-js-3: 1
    codes = [r[head.index("规则代码")] for r in body]
    assert codes[0] == "QUOTA_EXCEEDED"  # the rejected application first, errors first
    msg_col = head.index("说明") + 1
    assert js.cell(row=2, column=msg_col).alignment.wrap_text
    # a value that looks like a formula is stored as text
    sz = wb["深圳市"]
    vals = [c.value for row in sz.iter_rows(min_row=2) for c in row]
    assert "=1381234" in vals
    cell = next(c for row in sz.iter_rows(min_row=2) for c in row if c.value == "=1381234")
    assert cell.data_type == "s"
    summary = [[c.value for c in row] for row in wb["汇总"].iter_rows()]
    flat = [v for row in summary for v in row if v is not None]
    assert "按推荐单位" in flat and "示范城市额外推荐名额使用" in flat and "超额" in flat
    status_row = next(row for row in summary if row[0] == "不予受理")
    assert status_row[2] == 3
    sup = wb["已替代"]
    assert sup.max_row == 2 and sup["D2"].value.endswith("申报书-旧.docx")


def test_applications_xlsx():
    wb = openpyxl.load_workbook(io.BytesIO(write_applications_xlsx(make_input().records)))
    ws = wb.active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    head = [c.value for c in ws[1]]
    assert "统一社会信用代码" in head and "联系电话" in head and "sha256" in head
    assert ws.max_row == 8
    assert ws.column_dimensions["A"].width >= 10


def test_sheet_name():
    taken = {"汇总", "已替代"}
    n = sheet_name("某某" * 20 + "[测试]:集团/公司?", taken)
    assert len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n)
    n2 = sheet_name("某某" * 20 + "[测试]:集团/公司?", taken)
    assert n2 != n and len(n2) <= 31
    assert sheet_name("汇总", taken) == "汇总~2"


# ------------------------------------------------------------------------------------------------ HTML


def test_exceptions_html_self_contained_and_escaped():
    html = write_exceptions_html(make_input()).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in html
    assert "<title>2023年新型信息消费示范项目 申报材料异常报告</title>" in html
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(?!#)[^"'\s>]""", html), "only in-page anchors allowed"
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "<script>alert(1)</script>" not in html and "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e平台" in html
    assert "</script" not in html.split('id="report-data">')[1].split("</script>")[0]
    # summary numbers
    assert 'id="count-rejected" data-count="3"' in html
    assert 'id="count-superseded" data-count="1"' in html
    assert 'id="count-accepted" data-count="2"' in html
    assert 'id="count-new">6<' in html and 'id="count-resolved">1<' in html
    assert "本次处理 8 个文件，沿用上次结果 0 个，用时 12.3 秒" in html
    assert "<svg" in html and 'data-code="QUOTA_EXCEEDED"' in html
    # filters, the pager and the embedded data the page renders from
    for needle in ('id="filter-unit"', 'id="filter-rule"', 'name="severity" value="warning"', 'id="visible-count"',
                   'id="summary"', 'id="pager-top"', 'id="report-data"', "显示 9 条"):
        assert needle in html, needle
    apps = read_report_data(html)
    rows = [f for a in apps for f in a["findings"]]
    assert sum(not f["resolved"] for f in rows) == 9 and sum(f["resolved"] for f in rows) == 1
    # grouping: units in order (unknown last), errors before warnings inside an application
    assert [a["unit"] for a in apps] == ["江苏省"] * 3 + ["深圳市"] * 2 + ["中国移动通信集团有限公司", "未知推荐单位"]
    a1 = next(a for a in apps if a["application_id"] == "app-js-1")
    assert [f["code"] for f in a1["findings"]] == ["QUOTA_EXCEEDED", "CENTER_AREA_BELOW_300", "USCC_REGION_MISMATCH",
                                                 "FIELD_MISSING"]
    assert a1["findings"][2]["waived"] == 1 and "王审核" in a1["findings"][2]["waiver"]
    assert a1["supersedes"] == ["2023/江苏省/无锡体验中心申报书-旧.docx@v0"] and a1["counts"] == [1, 1, 0, 1, 1]
    sz2 = next(a for a in apps if a["application_id"] == "app-sz-2")
    assert sz2["title"] == "深圳某互联网有限公司 · <script>alert(1)</script>平台"
    assert "王审核" in html and "已迁址" in html and "已豁免" in html
    assert "已替代的上传" in html and "无锡体验中心申报书-旧.docx" in html
    # quota: over in red
    assert 'data-unit="江苏省" data-over="1"' in html and 'data-city="苏州市" data-over="1"' in html
    # the fallback display name is the file name
    assert next(a for a in apps if a["application_id"] == "app-sz-1")["title"] == "损坏的申报书.pdf"


def test_html_repeated_texts_are_stored_once():
    """10,000 applications repeat rule titles, locations and messages: each text once, in "S"."""
    inp = make_input()
    base = inp.records
    inp.records = [r.model_copy(update={"application_id": f"{r.application_id}-{i}"}) for i in range(30) for r in base]
    html = write_exceptions_html(inp).decode("utf-8")
    assert html.count("江苏省推荐的体验中心超过5个，本项目排序第6") == 1
    apps = read_report_data(html)
    assert len(apps) == 30 * len(base)
    assert {f["message"] for a in apps for f in a["findings"] if f["code"] == "QUOTA_EXCEEDED"} == {
        "江苏省推荐的体验中心超过5个，本项目排序第6"}


def test_html_first_run_has_no_change_section():
    inp = make_input(previous=False)
    for r in inp.records:
        for f in r.findings:
            f.change = None
        r.resolved_findings = []
    html = write_exceptions_html(inp).decode("utf-8")
    assert 'id="changes"' not in html and "chg-new" not in html.split("</style>")[1]


def test_html_empty_run():
    inp = make_input()
    inp.records, inp.superseded, inp.quota_units, inp.quota_cities = [], [], [], []
    html = write_exceptions_html(inp).decode("utf-8")
    assert "本次没有申报" in html and "显示 0 条" in html
    assert write_exceptions_csv(inp).startswith(BOM)
    openpyxl.load_workbook(io.BytesIO(write_exceptions_xlsx(inp)))


# -------------------------------------------------------------------------------------------- markdown


def test_summary_markdown():
    md = summary_markdown(make_input())
    assert "| 不予受理 | 3 |" in md and "| 已替代 | 1 |" in md
    assert "新增 6" in md and "已解决 1" in md
    assert "| 江苏省 | 6 ⚠超额 | 5 | 1 | 1 |" in md
    assert "苏州市" in md


def test_summary_markdown_masks_pii():
    inp = make_input()
    inp.quota_units[0]["unit"] = "联系人13812345678 zhang@example.com"
    md = summary_markdown(inp)
    assert "13812345678" not in md and "138****5678" in md and "z***@example.com" in md


# ------------------------------------------------------------------------------------------------ mask


@pytest.mark.parametrize(
    "text, masked",
    [
        ("13812341234", "138****1234"),
        ("电话：13812341234。", "电话：138****1234。"),
        ("+86 138-1234-5678", "+86 138****5678"),
        ("138 1234 5678", "138****5678"),
        ("010-68201234", "010-****1234"),
        ("0512 87654321", "0512 ****4321"),
        ("zhangsan@example.com", "z***@example.com"),
        ("a@x.com", "a***@x.com"),
        ("邮箱：li.si+intake@mail.miit.gov.cn；", "邮箱：l***@mail.miit.gov.cn；"),
        ("110101199003071234", "1101**********1234"),
        ("身份证号11010119900307123X", "身份证号1101**********123X"),
        ("110101900307123", "1101*******7123"),
        # not personal data: left alone
        ("91320214MA1XXXXX0X", "91320214MA1XXXXX0X"),
        ("月活120000000人", "月活120000000人"),
        ("2023-09-08", "2023-09-08"),
        ("邮编214000", "邮编214000"),
        ("sha256 " + "ab" * 32, "sha256 " + "ab" * 32),
        ("", ""),
    ],
)
def test_mask_pii(text, masked):
    assert mask_pii(text) == masked


def test_mask_pii_mixed_and_none():
    assert mask_pii(None) == ""
    s = mask_pii("联系人张三 13812341234，zhangsan@example.com，身份证110101199003071234")
    assert s == "联系人张三 138****1234，z***@example.com，身份证1101**********1234"
    assert mask_pii(13812341234) == "138****1234"


# ------------------------------------------------------------------------------------ Prefect artifacts


def test_summary_markdown_times_in_the_campaigns_zone():
    md = summary_markdown(make_input())  # generated 2026-11-27T14:05:01 UTC
    assert "生成于 2026-11-27 22:05:01（北京时间）" in md
    assert "T14:05" not in md and "+00:00" not in md


def test_findings_artifact_is_narrow_chinese_and_lists_resolved():
    from formintake.reports.artifacts import WIDTH, findings_table

    inp = make_input()
    rows = findings_table(inp.records)
    assert len(rows) == 10  # 9 findings + 1 resolved
    assert list(rows[0]) == ["严重程度", "变化", "申报单位", "规则", "字段", "填写值", "说明"]
    assert {r["严重程度"] for r in rows} == {"错误", "警告", "警告·豁免", "提示"}
    assert {r["变化"] for r in rows} == {"新增", "持续", "已解决"}
    resolved = [r for r in rows if r["变化"] == "已解决"]
    assert len(resolved) == 1 and resolved[0]["字段"] == "电子邮箱" and rows[-1] is resolved[0]
    by_code = {r["规则"].split()[-1]: r for r in rows}
    mau = by_code["PLATFORM_MAU_BELOW_100M"]
    assert mau["规则"] != "PLATFORM_MAU_BELOW_100M" and mau["字段"] != "mau_prev_avg"  # title + code, Chinese label
    assert "contact_phone" not in str(rows) and "1381234" not in str(rows)  # label, value masked
    for r in rows:
        assert len(r["说明"]) <= WIDTH["message"] and len(r["申报单位"]) <= WIDTH["applicant"]
    long = [r for r in rows if r["说明"].endswith("…")]
    assert all(len(r["说明"]) == WIDTH["message"] for r in long)


def test_xlsx_rows_written_by_hand_are_xlsxwriters_own_bytes():
    """tabular._Sheet writes each row's XML itself (speed); the workbook must be byte-for-byte what
    XlsxWriter's write_string / write_number give for the same cells and formats, awkward text included."""
    from formintake.reports import tabular

    awkward = ["plain 文本", "  leading", "trailing ", "two\nlines", "crlf\r\nend", "_x0041_ literal", "<r>rich</r>",
               "<b>&amp;\"'", "\ufffe\uffff", "tab\there", "\x01\x1f control", "=1+2", "-5", "end\n", "𝄞" * 17000,
               12, 3.25, 10**17, -0.0, True, None, "", ["a", "b"]]

    def ours() -> bytes:
        book = tabular._Book()
        sh = book.sheet("表")
        bold, top = book.fmt(bold=True), book.fmt(valign="top", text_wrap=True)
        for v in awkward:
            sh.line([v, 1.5, None, "", v, "x"], [bold, None, bold, top, top, None])
        sh.row += 2
        sh.line(awkward, top)
        sh.fit({1})
        return tabular._as_bytes(lambda out: book.into(out, "2026-12-01T00:00:00Z"))

    def xlsxwriters() -> bytes:
        book = tabular._Book()
        ws = book.wb.add_worksheet("表")
        bold, top = book.fmt(bold=True), book.fmt(valign="top", text_wrap=True)
        sh = tabular._Sheet(book, ws)  # only for the widths
        rows = [([v, 1.5, None, "", v, "x"], [bold, None, bold, top, top, None]) for v in awkward]
        rows += [([], None), ([], None), (awkward, [top] * len(awkward))]
        for i, (values, fmts) in enumerate(rows):
            for j, v in enumerate(values):
                x = tabular._xl_value(v)
                if x is not None and i < tabular.FIT_ROWS:
                    sh._fit_width(j, x)
                if x is None or x == "":
                    continue
                (ws.write_string if isinstance(x, str) else ws.write_number)(i, j, x, fmts[j])
        sh.fit({1})
        return tabular._as_bytes(lambda out: book.into(out, "2026-12-01T00:00:00Z"))

    a, b = ours(), xlsxwriters()
    assert a == b
    wb = openpyxl.load_workbook(io.BytesIO(a))
    assert wb["表"]["A1"].value == "plain 文本" and wb["表"]["A2"].value == "  leading"
