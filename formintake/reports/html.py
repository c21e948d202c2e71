"""The reviewers' exception report: one self-contained HTML file (inline CSS, JS and SVG; no network)."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from formintake import __version__
from formintake.models import DIRECTION_ZH, SEVERITY_ZH, STATUS_ZH

from .common import (
    local_time,
    parts_or_whole,
    write_blocks,
    CHANGE_ZH,
    REPORT_TITLE_SUFFIX,
    STATUS_SHORT_ZH,
    STATUS_TILES,
    ReportInput,
    app_title,
    applicant_of,
    file_name,
    group_by_unit,
    project_of,
    quota_cities,
    quota_units,
    rule_info,
    sorted_findings,
    stats_text,
    summarize,
    unit_of,
    unit_sort_key,
)

TEMPLATES = Path(__file__).parent / "templates"
SEV_COLOR = {"error": "#c9372c", "warning": "#d68a00", "info": "#3b7dd8"}


# what an upload's name or text may carry that HTML text must not: C0/C1 controls (tab and newlines kept)
_HTML_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _html_text(v):
    """Every ``{{ … }}`` output: control characters shown as U+FFFD (escaping follows, autoescape)."""
    if isinstance(v, str) and not isinstance(v, Markup):  # Markup is our own, already safe HTML
        return _HTML_CONTROLS.sub("\ufffd", v)
    return v


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_html_text,
    )
    env.filters["local_time"] = local_time
    env.globals.update(
        STATUS_ZH=STATUS_ZH, STATUS_SHORT_ZH=STATUS_SHORT_ZH, SEVERITY_ZH=SEVERITY_ZH,
        DIRECTION_ZH=DIRECTION_ZH, CHANGE_ZH=CHANGE_ZH,
    )
    return env


def _text_px(s: str, size: float) -> float:
    """Approximate rendered width of ``s`` at ``size`` px (CJK ≈ 1 em, Latin ≈ 0.58 em)."""
    return sum(size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.58 for ch in s)


def _clip(s: str, size: float, max_px: float) -> str:
    if _text_px(s, size) <= max_px:
        return s
    out = ""
    for ch in s:
        if _text_px(out + ch + "…", size) > max_px:
            break
        out += ch
    return out + "…"


def rule_chart(by_rule: list) -> dict[str, Any]:
    """Geometry of the horizontal bar chart of findings by rule (rendered as inline SVG)."""
    rows = [r for r in by_rule if r.findings > 0]
    row_h, title_px, code_px = 34, 13, 10.5
    label_w = 0.0
    for r in rows:
        label_w = max(label_w, _text_px(r.title, title_px), _text_px(r.code, code_px))
    label_w = min(max(label_w + 14, 120), 330)
    bar_max, count_w = 300, 44
    top = max((r.findings for r in rows), default=1) or 1
    bars = []
    for i, r in enumerate(rows):
        y = i * row_h
        w = max(2.0, bar_max * r.findings / top)
        bars.append({
            "y": y, "w": round(w, 1), "title": _clip(r.title, title_px, label_w - 14),
            "full_title": r.title, "code": r.code, "show_code": r.title != r.code,
            "count": r.findings, "apps": r.applications, "color": SEV_COLOR.get(r.severity, "#777"),
            "severity": r.severity,
        })
    return {
        "bars": bars, "label_w": round(label_w, 1), "width": round(label_w + bar_max + count_w, 1),
        "height": max(len(rows) * row_h, 1), "row_h": row_h,
    }


def quota_bar(count: int, limit: int, width: int = 180, height: int = 16) -> dict[str, Any]:
    """A usage bar: filled to ``count``, with a marker at ``limit``; red when over."""
    scale_max = max(limit * 1.6, count, 1)
    px = width / scale_max
    return {
        "width": width, "height": height, "count": count, "limit": limit,
        "fill_w": round(min(count, scale_max) * px, 1), "limit_x": round(limit * px, 1),
        "over": count > limit, "full": count == limit,
    }


def stats_line(stats: dict | None) -> str:
    """``本次处理 8 个文件，沿用上次结果 0 个，用时 12.3 秒`` (+ any other statistics as given)."""
    if not stats:
        return ""
    st = dict(stats)
    parts = []
    if "processed" in st:
        parts.append(f"本次处理 {st.pop('processed')} 个文件")
    if "reused" in st:
        parts.append(f"沿用上次结果 {st.pop('reused')} 个")
    if "seconds" in st:
        sec = st.pop("seconds")
        parts.append(f"用时 {sec:.1f} 秒" if isinstance(sec, (int, float)) else f"用时 {sec} 秒")
    if "versions" in st:
        parts.append(f"共 {st.pop('versions')} 个对象版本")
    if st:
        parts.append(stats_text(st))
    return "，".join(parts)


class _Strings:
    """Texts of the embedded data: a text met more than once (rule titles, locations, messages of
    copied forms …) is stored once in ``S`` and referred to by its index."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}  # text -> times met (first pass)
        self.table: list[str] = []
        self.index: dict[str, int] = {}

    def count(self, v: str) -> None:
        self.seen[v] = self.seen.get(v, 0) + 1

    def ref(self, v: str) -> str | int:
        if len(v) < 4 or self.seen.get(v, 0) < 2:
            return v
        i = self.index.get(v)
        if i is None:
            i = self.index[v] = len(self.table)
            self.table.append(v)
        return i


def _clean(v: Any) -> str:
    """A text as the report shows it: C0/C1 controls as U+FFFD (what every ``{{ … }}`` gets)."""
    return _HTML_CONTROLS.sub("\ufffd", v) if isinstance(v, str) else ("" if v is None else str(v))


def _waiver_line(f) -> str:
    w = f.waiver
    return f"{w.by} · {w.at} · 理由：{w.reason}" if w is not None else ""


# What the page's script reads: an application and a finding row are arrays in these keys' order
# (``apps`` / ``rows`` in the template's script; :func:`read_report_data` names them back)
_APP_KEYS = ("unit", "application_id", "status", "title", "direction", "key", "version", "uploaded", "supersedes",
             "folder", "counts", "findings")
_ROW_KEYS = ("severity", "code", "rule", "clause", "field_zh", "field", "value", "expected", "location", "message",
             "hint", "waiver", "change", "resolved", "waived")
_SUPERSEDES, _FINDINGS = _APP_KEYS.index("supersedes"), _APP_KEYS.index("findings")
_SEVERITY, _CODE, _RESOLVED = _ROW_KEYS.index("severity"), _ROW_KEYS.index("code"), _ROW_KEYS.index("resolved")
# the texts (run through _clean, and stored once in ``S`` when repeated)
_TEXT_AT = tuple(_APP_KEYS.index(k) for k in ("title", "direction", "key", "version", "uploaded", "folder"))
_ROW_TEXT_AT = tuple(_ROW_KEYS.index(k) for k in ("rule", "clause", "field_zh", "field", "value", "expected",
                                                   "location", "message", "hint", "waiver"))


def _app_rows(rec, campaign, unit_no: int, unit: str) -> list:
    """One application as the page's script reads it (in ``_APP_KEYS`` order; findings in ``_ROW_KEYS``)."""
    rows = []
    for r in sorted_findings(rec, campaign):
        f = r.f
        rows.append([f.severity, f.code, r.rule_title, "" if r.resolved else (r.clause or ""), r.field_zh, f.field or "",
                     r.value_text, f.expected or "", r.location, f.message, "" if r.resolved else (f.hint or ""),
                     "" if r.resolved else _waiver_line(f), "" if r.resolved else (f.change or ""),
                     1 if r.resolved else 0, 1 if f.waived else 0])
    counts = [len(rec.errors()), len(rec.warnings()),
              sum(1 for f in rec.findings if f.severity == "info" and not f.waived),
              sum(1 for f in rec.findings if f.waived), len(rec.resolved_findings)]
    supersedes = [sp.key + (f"@{sp.version_id}" if sp.version_id else "") for sp in rec.supersedes]
    folder = rec.recommender_path if rec.recommender_path and rec.recommender_path != unit else ""
    uploaded = local_time(rec.source.uploaded_at, campaign.timezone) if rec.source.uploaded_at else ""
    return [unit_no, rec.application_id, rec.status, app_title(rec), DIRECTION_ZH.get(rec.direction or "", ""),
            rec.source.key, rec.source.version_id or "", uploaded, supersedes, folder, counts, rows]


def report_data(units: list[tuple[str, str, list]], campaign) -> dict[str, Any]:
    """The embedded data: units ``[name, anchor, applications, unresolved findings]``, every application
    with its findings, repeated texts once (``S``), and the labels the script shows."""
    apps = []
    unit_rows = []
    for no, (unit, anchor, recs) in enumerate(units):
        mine = [_app_rows(r, campaign, no, unit) for r in recs]
        apps.extend(mine)
        unit_rows.append([unit, anchor, len(recs), sum(1 for a in mine for row in a[_FINDINGS] if not row[_RESOLVED])])
    strings = _Strings()
    for a in apps:
        for i in _TEXT_AT:
            a[i] = _clean(a[i])
            strings.count(a[i])
        a[_SUPERSEDES] = [_clean(k) for k in a[_SUPERSEDES]]
        for row in a[_FINDINGS]:
            for i in _ROW_TEXT_AT:
                row[i] = _clean(row[i])
                strings.count(row[i])
    for a in apps:
        for i in _TEXT_AT:
            a[i] = strings.ref(a[i])
        for row in a[_FINDINGS]:
            for i in _ROW_TEXT_AT:
                row[i] = strings.ref(row[i])
    return {"S": strings.table, "units": [[_clean(u), anchor, n, k] for u, anchor, n, k in unit_rows], "apps": apps,
            "L": {"status": STATUS_ZH, "sev": SEVERITY_ZH, "chg": CHANGE_ZH}}


_SCRIPT_ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"),
                   ("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))


def _script_safe(data: bytes) -> bytes:
    for ch, esc in _SCRIPT_ESCAPES:
        if ch in data:
            data = data.replace(ch, esc)
    return data


def script_json(obj: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` (so no ``</script>``
    nor ``<!--`` can end it), U+2028/2029 escaped; the page's script reads it with JSON.parse."""
    try:
        data = orjson.dumps(obj)
    except (TypeError, orjson.JSONEncodeError):  # e.g. a lone surrogate
        data = json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return Markup(_script_safe(data).decode("utf-8"))


def _script_json_into(data: dict[str, Any], out: BinaryIO) -> None:
    """:func:`script_json` of the report data written into ``out`` a part at a time (an application at a
    time for ``apps``): the same bytes, never the whole JSON text in memory."""
    def parts() -> None:
        sep = b"{"
        for k, v in data.items():
            out.write(sep + orjson.dumps(k) + b":")
            if k == "apps":  # an application's JSON ends with } and the next starts with {: escaped one by one
                out.write(b"[")
                write_blocks(out, (_script_safe(orjson.dumps(a)) for a in v), b"", b",")
                out.write(b"]")
            else:
                out.write(_script_safe(orjson.dumps(v)))
            sep = b","
        out.write(b"}")

    parts_or_whole(out, parts, lambda: str(script_json(data)).encode("utf-8"))


_DATA_MARK = Markup("\x00report-data\x00")  # where the data goes in the rendered page (no text carries NUL)


def build_context(inp: ReportInput, data_json: Markup | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template's context and the embedded data (``data_json``: what the page shows for it; by
    default the data's JSON itself)."""
    s = summarize(inp)
    grouped = [(unit, f"unit-{i}", recs) for i, (unit, recs) in enumerate(group_by_unit(inp.records, inp.campaign), start=1)]
    data = report_data(grouped, inp.campaign)
    units = [{"unit": u[0], "anchor": u[1], "n_apps": u[2], "n_findings": u[3]} for u in data["units"]]
    anchors = {unit: anchor for unit, anchor, _ in grouped}
    qu = quota_units(inp)
    for q in qu:
        q["bar"] = quota_bar(q["center_count"], q["center_quota"])
        q["anchor"] = anchors.get(q["unit"])
    qc = quota_cities(inp)
    for q in qc:
        q["bar"] = quota_bar(q["extras"], q["quota"], width=120)
    superseded = sorted(inp.superseded, key=lambda r: (unit_sort_key(unit_of(r), inp.campaign), r.application_id, r.source.uploaded_at or ""))
    sev_counts = {k: 0 for k in ("error", "warning", "info")}
    codes_seen = set()
    for a in data["apps"]:
        for row in a[_FINDINGS]:
            codes_seen.add(row[_CODE])
            if not row[_RESOLVED]:
                sev_counts[row[_SEVERITY]] = sev_counts.get(row[_SEVERITY], 0) + 1
    codes = sorted(codes_seen)
    rule_titles = {x.code: x.title for x in s.by_rule}
    for c in codes:
        if c not in rule_titles:
            rule_titles[c] = rule_info(c, inp.campaign)[0]
    context = {
        "inp": inp,
        "title": f"{inp.campaign.name} {REPORT_TITLE_SUFFIX}",
        "campaign": inp.campaign,
        "s": s,
        "tiles": [(k, STATUS_SHORT_ZH[k], s.by_status.get(k, 0)) for k in STATUS_TILES],
        "chart": rule_chart(s.by_rule),
        "units": units,
        "data_json": script_json(data) if data_json is None else data_json,
        "unit_names": [u["unit"] for u in units],
        "anchors": anchors,
        "quota_units": qu,
        "quota_cities": qc,
        "superseded": [{"rec": r, "unit": unit_of(r), "title": app_title(r)} for r in superseded],
        "total_rows": sum(u["n_findings"] for u in units),  # every unresolved finding
        "sev_counts": sev_counts,
        "rule_options": [(c, rule_titles.get(c, c)) for c in codes],
        "version": __version__,
        "stats_line": stats_line(inp.stats),
    }
    return context, data


def exceptions_html_into(inp: ReportInput, out: BinaryIO) -> None:
    """exceptions.html written into ``out``: the page rendered around a mark, the embedded data (most of
    the file: ~20 MB at 10,000 applications) streamed in its place an application at a time."""
    context, data = build_context(inp, _DATA_MARK)
    page = _env().get_template("exceptions.html.j2").render(**context)
    del context
    head, tail = page.split(_DATA_MARK)  # exactly one mark: the template places the data once
    out.write(head.encode("utf-8"))
    _script_json_into(data, out)
    out.write(tail.encode("utf-8"))


def write_exceptions_html(inp: ReportInput) -> bytes:
    buf = io.BytesIO()
    exceptions_html_into(inp, buf)
    return buf.getvalue()


def read_report_data(html: str) -> list[dict[str, Any]]:
    """The applications embedded in an exceptions.html, as dicts with their texts resolved (for tests and
    tools that read a report without a browser)."""
    start = html.index('<script type="application/json" id="report-data">')
    body = html[html.index(">", start) + 1:html.index("</script>", start)]
    data = json.loads(body)
    table = data["S"]

    def text(v: Any) -> Any:
        return table[v] if isinstance(v, int) and not isinstance(v, bool) else v

    apps = []
    for a in data["apps"]:
        app = dict(zip(_APP_KEYS, a))
        app["unit"] = data["units"][app["unit"]][0]
        for k in ("title", "direction", "key", "version", "uploaded", "folder"):
            app[k] = text(app[k])
        app["findings"] = [{k: (v if k in ("resolved", "waived") else text(v)) for k, v in zip(_ROW_KEYS, row)}
                           for row in a[_FINDINGS]]
        apps.append(app)
    return apps
