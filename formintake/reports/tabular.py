"""Flat outputs: exceptions / applications as CSV (UTF-8 with BOM), JSON, JSON Lines and XLSX."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from formintake.config import DEFAULT_TIMEZONE, Campaign
from formintake.models import DIRECTION_ZH, STATUS_ZH, Record

from .common import (
    local_time,
    STATUS_SHORT_ZH,
    STATUS_TILES,
    FindingRow,
    ReportInput,
    all_rows,
    applicant_of,
    campaign_of,
    display_width,
    field_columns,
    file_name,
    fmt_value,
    group_by_unit,
    project_of,
    quota_cities,
    quota_units,
    sorted_findings,
    stats_text,
    summarize,
    unit_of,
    unit_sort_key,
)

BOM = "\ufeff"

# ------------------------------------------------------------------------------------------- cell safety

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def csv_safe(v: Any) -> str:
    """Text for a CSV cell that Excel/WPS will not run as a formula (``=``, ``+``, ``-``, ``@``):
    such text from an upload gets a leading apostrophe, plain numbers are left alone."""
    s = fmt_value(v)
    if s and s[0] in "=+-@\t\r" and not _NUMBER.match(s):
        return "'" + s
    return s


def _xl_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (int, float)):
        return v
    return ILLEGAL_CHARACTERS_RE.sub("", fmt_value(v))


def _put(ws: Worksheet, row: int, col: int, v: Any):
    cell = ws.cell(row=row, column=col, value=_xl_value(v))
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never a formula, whatever the upload wrote
    return cell


# ------------------------------------------------------------------------------------ exception columns

FINDING_COLUMNS: list[tuple[str, Any]] = [
    ("推荐单位", lambda r: r.unit),
    ("申报单位", lambda r: applicant_of(r.rec)),
    ("项目名称", lambda r: project_of(r.rec)),
    ("文件", lambda r: r.rec.source.key),
    ("规则代码", lambda r: r.f.code),
    ("规则", lambda r: r.rule_title),
    ("严重程度", lambda r: r.severity_zh),
    ("字段", lambda r: r.field_zh),
    ("填写值", lambda r: r.value_text),
    ("应为", lambda r: r.f.expected or ""),
    ("位置", lambda r: r.location),
    ("说明", lambda r: r.f.message),
    ("修改建议", lambda r: r.f.hint or ""),
    ("变化", lambda r: r.change_zh),
    ("豁免", lambda r: r.waiver_text),
    ("申报状态", lambda r: STATUS_ZH.get(r.rec.status, r.rec.status)),
    ("申报方向", lambda r: DIRECTION_ZH.get(r.rec.direction or "", "")),
    ("条款", lambda r: r.clause or ""),
    ("文件版本", lambda r: r.rec.source.version_id or ""),
    ("申报编号", lambda r: r.rec.application_id),
    ("字段代码", lambda r: r.f.field),
]
FINDING_HEADERS = [h for h, _ in FINDING_COLUMNS]
WRAP_HEADERS = {"说明", "修改建议", "填写值", "应为", "豁免", "规则", "项目名称", "位置"}


def finding_cells(row: FindingRow) -> list[Any]:
    return [get(row) for _, get in FINDING_COLUMNS]


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow([csv_safe(v) for v in r])
    return (BOM + buf.getvalue()).encode("utf-8")


# -------------------------------------------------------------------------------------------- exceptions


def write_exceptions_csv(inp: ReportInput) -> bytes:
    """Every finding, one row each: active errors, warnings, info; then waived; then resolved."""
    return _csv_bytes(FINDING_HEADERS, (finding_cells(r) for r in all_rows(inp.records, inp.campaign)))


def _superseded_dict(rec: Record) -> dict[str, Any]:
    return {
        "application_id": rec.application_id,
        "unit": unit_of(rec),
        "applicant": applicant_of(rec) or None,
        "project": project_of(rec) or None,
        "status": rec.status,
        "source": rec.source.model_dump(mode="json"),
        "superseded_by": rec.superseded_by.model_dump(mode="json") if rec.superseded_by else None,
    }


def write_exceptions_json(inp: ReportInput) -> bytes:
    s = summarize(inp)
    doc = {
        "report": "exceptions",
        "schema_version": 1,
        "campaign": {"id": inp.campaign.id, "name": inp.campaign.name, "notice_number": inp.campaign.notice_number},
        "run_id": inp.run_id,
        "generated_at": inp.generated_at,
        "previous_run_id": inp.previous_run_id,
        "stats": inp.stats,
        "summary": {
            **s.as_dict(),
            "quota_units": quota_units(inp),
            "quota_cities": quota_cities(inp),
        },
        "findings": [r.as_dict() for r in all_rows(inp.records, inp.campaign)],
        "applications": [
            {
                "application_id": rec.application_id,
                "unit": unit_of(rec),
                "status": rec.status,
                "direction": rec.direction,
                "applicant": applicant_of(rec) or None,
                "project": project_of(rec) or None,
                "file_key": rec.source.key,
                "version": rec.source.version_id,
                "errors": len(rec.errors()),
                "warnings": len(rec.warnings()),
            }
            for _, recs in group_by_unit(inp.records, inp.campaign)
            for rec in recs
        ],
        "superseded": [_superseded_dict(r) for r in inp.superseded],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str).encode("utf-8")


# ------------------------------------------------------------------------------------------ xlsx helpers

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
TITLE_FONT = Font(bold=True, size=14)
SECTION_FONT = Font(bold=True, size=12, color="1F3A5F")
SEV_FILL = {
    "error": PatternFill("solid", fgColor="FBE3E1"),
    "warning": PatternFill("solid", fgColor="FFF1CC"),
    "info": PatternFill("solid", fgColor="E3EEF9"),
}
RED_FONT = Font(bold=True, color="B42318")
STRIKE_FONT = Font(strike=True, color="7A7A7A")
WAIVED_FONT = Font(italic=True, color="7A7A7A")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")


def _header(ws: Worksheet, row: int, headers: Sequence[str], col: int = 1) -> None:
    for i, h in enumerate(headers):
        c = _put(ws, row, col + i, h)
        c.font = BOLD
        c.fill = HEADER_FILL
        c.alignment = Alignment(vertical="center", wrap_text=False)


def _fit_columns(ws: Worksheet, wrap_headers: set[str] = frozenset(), header_row: int = 1,
                 min_w: int = 6, max_w: int = 48, wrap_w: int = 40) -> None:
    """Column widths from content (CJK characters count 2); wrapped columns get a fixed width."""
    widths: dict[int, int] = {}
    wrapped: set[int] = set()
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, 2000)):
        for cell in row:
            if cell.value is None:
                continue
            text = str(cell.value)
            w = max(display_width(line) for line in text.splitlines() or [""])
            widths[cell.column] = max(widths.get(cell.column, 0), w)
            if cell.row == header_row and text in wrap_headers:
                wrapped.add(cell.column)
    for col, w in widths.items():
        letter = get_column_letter(col)
        if col in wrapped:
            ws.column_dimensions[letter].width = min(max(w + 2, min_w), wrap_w)
        else:
            ws.column_dimensions[letter].width = min(max(w + 2, min_w), max_w)


def _table_sheet(ws: Worksheet, headers: Sequence[str], rows: Iterable[Sequence[Any]],
                 wrap_headers: set[str] = frozenset()) -> int:
    """Header row bold and frozen, auto filter over the table, widths fitted. Returns rows written."""
    _header(ws, 1, headers)
    n = 0
    wrap_cols = {i + 1 for i, h in enumerate(headers) if h in wrap_headers}
    for n, r in enumerate(rows, start=1):
        for j, v in enumerate(r, start=1):
            c = _put(ws, n + 1, j, v)
            c.alignment = WRAP if j in wrap_cols else TOP
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{n + 1}"
    _fit_columns(ws, set(wrap_headers))
    return n


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
# characters an upload's folder name may carry that XML 1.0 or Excel's sheet tab cannot: C0/C1 controls,
# line/paragraph separators, lone surrogates, non-characters
_SHEET_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_SHEET_RESERVED = {"history"}  # Excel reserves it


def _utf16_cut(s: str, units: int) -> str:
    """``s`` cut to at most ``units`` UTF-16 code units (Excel counts those), never inside a pair."""
    out, n = [], 0
    for ch in s:
        w = 2 if ord(ch) > 0xFFFF else 1
        if n + w > units:
            break
        out.append(ch)
        n += w
    return "".join(out)


def sheet_name(name: str, taken: set[str]) -> str:
    """A legal, unique Excel sheet name from any string an upload can carry: no []:*?/\\, no control
    characters, not starting/ending with ', not "History", ≤31 UTF-16 units; a clash gets ~2, ~3 …"""
    base = _SHEET_INVISIBLE.sub(" ", str(name))
    base = _SHEET_BAD.sub("_", base)
    base = " ".join(base.split()).strip("'").strip() or "未命名"
    if base.lower() in _SHEET_RESERVED:
        base += "_"
    base = _utf16_cut(base, 31).rstrip("'") or "未命名"
    cand, i = base, 2
    while cand.lower() in taken:
        suffix = f"~{i}"
        cand = _utf16_cut(base, 31 - len(suffix)) + suffix
        i += 1
    taken.add(cand.lower())
    return cand


def _xlsx_bytes(wb: Workbook, as_of: str | None = None) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return stable_zip(buf.getvalue(), as_of)


_CORE_TIME = re.compile(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def stable_zip(data: bytes, as_of: str | None = None) -> bytes:
    """The same workbook as the same bytes: member times fixed (1980-01-01, the zip epoch) and the
    document's created/modified set to ``as_of`` (ISO, e.g. the newest record's processed_at) instead of
    the moment of writing. A run with nothing new then rewrites nothing different."""
    import zipfile

    stamp = "1980-01-01T00:00:00Z"
    if as_of:
        stamp = as_of.replace("+00:00", "Z")[:19].rstrip("Z") + "Z"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _CORE_TIME.sub(lambda m: m.group(1) + stamp + m.group(2), body.decode("utf-8")).encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, body)
    return out.getvalue()


# ---------------------------------------------------------------------------------------- exceptions.xlsx


def _summary_sheet(ws: Worksheet, inp: ReportInput) -> None:
    s = summarize(inp)
    r = 1
    _put(ws, r, 1, f"{inp.campaign.name} 申报材料异常报告 — 汇总").font = TITLE_FONT
    r += 1
    meta = [
        ("通知文号", inp.campaign.notice_number),
        ("运行编号", inp.run_id),
        (f"生成时间（{inp.campaign.timezone_zh}）", local_time(inp.generated_at, inp.campaign.timezone)),
        ("上次运行", inp.previous_run_id or "（首次运行）"),
        ("申报数（最新版本）", s.applications),
    ]
    if inp.stats:
        meta.append(("运行统计", stats_text(inp.stats)))
    for k, v in meta:
        _put(ws, r, 1, k).font = BOLD
        _put(ws, r, 2, v)
        r += 1

    def section(title: str, headers: Sequence[str], rows: list[Sequence[Any]], over: list[bool] | None = None) -> None:
        nonlocal r
        r += 1
        _put(ws, r, 1, title).font = SECTION_FONT
        r += 1
        _header(ws, r, headers)
        r += 1
        if not rows:
            _put(ws, r, 1, "（无）")
            r += 1
        for i, row in enumerate(rows):
            for j, v in enumerate(row, start=1):
                c = _put(ws, r, j, v)
                c.alignment = TOP
                if over and over[i]:
                    c.font = RED_FONT
            r += 1

    section("按申报状态", ["状态", "状态代码", "数量"],
            [[STATUS_SHORT_ZH[k], k, s.by_status.get(k, 0)] for k in STATUS_TILES])
    section("按严重程度（不含已豁免）", ["严重程度", "数量"],
            [["错误", s.severity["error"]], ["警告", s.severity["warning"]], ["提示", s.severity["info"]],
             ["已豁免", s.waived]])
    if s.rerun:
        section("与上次运行相比", ["变化", "数量"],
                [["新增", s.changes["new"]], ["持续", s.changes["persisting"]], ["已解决", s.changes["resolved"]]])
    sev_zh = {"error": "错误", "warning": "警告", "info": "提示"}
    section("按规则", ["规则代码", "规则", "严重程度", "条款", "问题数", "涉及申报数", "已豁免"],
            [[x.code, x.title, sev_zh.get(x.severity, x.severity), x.clause or "", x.findings, x.applications, x.waived]
             for x in s.by_rule])
    section("按推荐单位", ["推荐单位", "申报数", "通过", "待人工复核", "不予受理", "文件无法读取", "错误", "警告", "提示", "已豁免", "已替代"],
            [[u.unit, u.applications, u.by_status.get("accepted", 0), u.by_status.get("needs_review", 0),
              u.by_status.get("rejected", 0), u.by_status.get("unreadable", 0), u.errors, u.warnings, u.infos,
              u.waived, u.superseded] for u in s.by_unit])
    qu = quota_units(inp)
    section("推荐名额使用（体验中心方向，按推荐单位）",
            ["推荐单位", "单位类型", "体验中心推荐数", "名额", "是否超额", "示范城市额外推荐", "大平台推荐数（不限）"],
            [[q["unit"], q["kind_zh"], q["center_count"], q["center_quota"], "超额" if q["over"] else "",
              q["extra_count"], q["platform_count"]] for q in qu],
            [q["over"] for q in qu])
    qc = quota_cities(inp)
    section("示范城市额外推荐名额使用",
            ["示范城市", "所在省份", "城市类型", "额外推荐数", "名额", "是否超额"],
            [[q["city"], q["province"], q["kind"], q["extras"], q["quota"], "超额" if q["over"] else ""] for q in qc],
            [q["over"] for q in qc])
    ws.freeze_panes = "A2"
    _fit_columns(ws, header_row=0, max_w=40)
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = max(ws.column_dimensions["B"].width or 0, 24)


SUPERSEDED_HEADERS = ["推荐单位", "申报单位", "项目名称", "被替代的文件", "版本", "上传时间", "sha256",
                      "替代为（文件）", "替代版本", "替代上传时间", "申报编号"]


def _superseded_rows(records: list[Record], campaign=None) -> list[list[Any]]:
    out = []
    for rec in sorted(records, key=lambda r: (unit_sort_key(unit_of(r), campaign), r.application_id, r.source.uploaded_at or "")):
        by = rec.superseded_by
        out.append([unit_of(rec), applicant_of(rec), project_of(rec), rec.source.key, rec.source.version_id,
                    local_time(rec.source.uploaded_at), rec.source.sha256, by.key if by else "",
                    by.version_id if by else "", local_time(by.uploaded_at) if by else "", rec.application_id])
    return out


def _style_finding_rows(ws: Worksheet, rows: list[FindingRow]) -> None:
    sev_col = FINDING_HEADERS.index("严重程度") + 1
    for i, fr in enumerate(rows, start=2):
        ws.cell(row=i, column=sev_col).fill = SEV_FILL.get(fr.f.severity, PatternFill())
        if fr.resolved or fr.f.waived:
            font = STRIKE_FONT if fr.resolved else WAIVED_FONT
            for j in range(1, len(FINDING_HEADERS) + 1):
                ws.cell(row=i, column=j).font = font


def write_exceptions_xlsx(inp: ReportInput) -> bytes:
    """汇总 (summary), one sheet per recommending unit with its findings, and 已替代 (superseded uploads)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    taken = {"汇总", "已替代"}
    _summary_sheet(ws, inp)
    for unit, recs in group_by_unit(inp.records, inp.campaign):
        rows = [r for rec in recs for r in sorted_findings(rec, inp.campaign)]
        sh = wb.create_sheet(sheet_name(unit, taken))
        _table_sheet(sh, FINDING_HEADERS, (finding_cells(r) for r in rows), WRAP_HEADERS)
        _style_finding_rows(sh, rows)
    sup = wb.create_sheet("已替代")
    _table_sheet(sup, SUPERSEDED_HEADERS, _superseded_rows(inp.superseded, inp.campaign))
    return _xlsx_bytes(wb, inp.generated_at)


# ---------------------------------------------------------------------------------------- applications


def _app_columns(campaign: Campaign | None) -> list[tuple[str, Any]]:
    tz, tz_zh = (campaign.timezone, campaign.timezone_zh) if campaign else (DEFAULT_TIMEZONE, DEFAULT_TIMEZONE)
    cols: list[tuple[str, Any]] = [
        ("申报编号", lambda r: r.application_id),
        ("状态", lambda r: STATUS_ZH.get(r.status, r.status)),
        ("状态代码", lambda r: r.status),
        ("申报方向", lambda r: DIRECTION_ZH.get(r.direction or "", "")),
        ("推荐单位", unit_of),
        ("上传目录", lambda r: r.recommender_path or ""),
    ]
    for key, header in field_columns():
        if key == "direction":
            continue  # 申报方向 above
        cols.append((header, lambda r, k=key: r.fields.get(k)))
    cols += [
        ("错误数", lambda r: len(r.errors())),
        ("警告数", lambda r: len(r.warnings())),
        ("提示数", lambda r: sum(1 for f in r.findings if f.severity == "info" and not f.waived)),
        ("已豁免数", lambda r: sum(1 for f in r.findings if f.waived)),
        ("问题代码", lambda r: " ".join(sorted({f.code for f in r.findings if not f.waived}))),
        ("文件", lambda r: r.source.key),
        ("文件名", file_name),
        ("文件版本", lambda r: r.source.version_id or ""),
        ("sha256", lambda r: r.source.sha256 or ""),
        ("文件大小（字节）", lambda r: r.source.size),
        (f"上传时间（{tz_zh}）", lambda r: local_time(r.source.uploaded_at, tz)),
        ("替代的上传", lambda r: " ".join(s.key + (f"@{s.version_id}" if s.version_id else "") for s in r.supersedes)),
        ("被替代为", lambda r: r.superseded_by.key if r.superseded_by else ""),
        ("处理时间", lambda r: r.processed_at),
        ("流水线版本", lambda r: r.pipeline_version),
    ]
    return cols


def _sorted_records(records: list[Record], camp: Campaign | None) -> list[Record]:
    return sorted(records, key=lambda r: (unit_sort_key(unit_of(r), camp), applicant_of(r) or file_name(r), r.application_id))


def write_applications_csv(records: list[Record]) -> bytes:
    camp = campaign_of(records)
    cols = _app_columns(camp)
    return _csv_bytes([h for h, _ in cols], ([get(r) for _, get in cols] for r in _sorted_records(records, camp)))


def write_applications_jsonl(records: list[Record]) -> bytes:
    """One record per line, exactly the Record model (the contract of applications.jsonl)."""
    lines = [jsonl_line(r.model_dump(mode="json")) for r in records]
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def jsonl_line(obj: Any) -> str:
    """One JSON Lines line: U+2028/U+2029 escaped (JSON allows them raw, line-based readers split there)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def write_applications_xlsx(records: list[Record]) -> bytes:
    camp = campaign_of(records)
    cols = _app_columns(camp)
    wb = Workbook()
    ws = wb.active
    ws.title = "申报清单"
    recs = _sorted_records(records, camp)
    _table_sheet(ws, [h for h, _ in cols], ([get(r) for _, get in cols] for r in recs),
                 {"项目简介", "主营业务", "推荐单位意见", "注册地址", "通讯地址", "体验中心地址"})
    status_col = 2
    fills = {"rejected": SEV_FILL["error"], "unreadable": SEV_FILL["error"], "needs_review": SEV_FILL["warning"],
             "accepted": PatternFill("solid", fgColor="E3F4E8")}
    for i, rec in enumerate(recs, start=2):
        ws.cell(row=i, column=status_col).fill = fills.get(rec.status, PatternFill())
    # no moment of writing inside: the data's own time (the newest extraction), so equal inputs, equal bytes
    return _xlsx_bytes(wb, max((r.processed_at for r in records), default=None))
