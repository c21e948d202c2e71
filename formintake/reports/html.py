"""The reviewers' exception report: one self-contained HTML file (inline CSS, JS and SVG; no network)."""

from __future__ import annotations

import re

import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from formintake import __version__
from formintake.models import DIRECTION_ZH, SEVERITY_ZH, STATUS_ZH

from .common import (
    local_time,
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


def _app_view(rec, campaign) -> dict[str, Any]:
    rows = sorted_findings(rec, campaign)
    search = " ".join(x for x in (applicant_of(rec), project_of(rec), rec.source.key, rec.application_id, unit_of(rec)) if x)
    return {
        "rec": rec,
        "title": app_title(rec),
        "applicant": applicant_of(rec),
        "project": project_of(rec),
        "file_name": file_name(rec),
        "direction": DIRECTION_ZH.get(rec.direction or "", ""),
        "rows": rows,
        "n_errors": len(rec.errors()),
        "n_warnings": len(rec.warnings()),
        "n_info": sum(1 for f in rec.findings if f.severity == "info" and not f.waived),
        "n_waived": sum(1 for f in rec.findings if f.waived),
        "n_resolved": len(rec.resolved_findings),
        "search": search,
    }


def build_context(inp: ReportInput) -> dict[str, Any]:
    s = summarize(inp)
    units = []
    for i, (unit, recs) in enumerate(group_by_unit(inp.records, inp.campaign), start=1):
        apps = [_app_view(r, inp.campaign) for r in recs]
        units.append({"unit": unit, "anchor": f"unit-{i}", "apps": apps,
                      "n_findings": sum(1 for a in apps for r in a["rows"] if not r.resolved)})
    anchors = {u["unit"]: u["anchor"] for u in units}
    qu = quota_units(inp)
    for q in qu:
        q["bar"] = quota_bar(q["center_count"], q["center_quota"])
        q["anchor"] = anchors.get(q["unit"])
    qc = quota_cities(inp)
    for q in qc:
        q["bar"] = quota_bar(q["extras"], q["quota"], width=120)
    superseded = sorted(inp.superseded, key=lambda r: (unit_sort_key(unit_of(r), inp.campaign), r.application_id, r.source.uploaded_at or ""))
    total_rows = sum(1 for u in units for a in u["apps"] for r in a["rows"] if not r.resolved)
    sev_counts = {k: 0 for k in ("error", "warning", "info")}
    for u in units:
        for a in u["apps"]:
            for r in a["rows"]:
                if not r.resolved:
                    sev_counts[r.f.severity] = sev_counts.get(r.f.severity, 0) + 1
    codes = sorted({r.f.code for u in units for a in u["apps"] for r in a["rows"]})
    rule_titles = {x.code: x.title for x in s.by_rule}
    for c in codes:
        if c not in rule_titles:
            rule_titles[c] = rule_info(c, inp.campaign)[0]
    return {
        "inp": inp,
        "title": f"{inp.campaign.name} {REPORT_TITLE_SUFFIX}",
        "campaign": inp.campaign,
        "s": s,
        "tiles": [(k, STATUS_SHORT_ZH[k], s.by_status.get(k, 0)) for k in STATUS_TILES],
        "chart": rule_chart(s.by_rule),
        "units": units,
        "unit_names": [u["unit"] for u in units],
        "anchors": anchors,
        "quota_units": qu,
        "quota_cities": qc,
        "superseded": [{"rec": r, "unit": unit_of(r), "title": app_title(r)} for r in superseded],
        "total_rows": total_rows,
        "sev_counts": sev_counts,
        "rule_options": [(c, rule_titles.get(c, c)) for c in codes],
        "version": __version__,
        "stats_line": stats_line(inp.stats),
    }


def write_exceptions_html(inp: ReportInput) -> bytes:
    html = _env().get_template("exceptions.html.j2").render(**build_context(inp))
    return html.encode("utf-8")
