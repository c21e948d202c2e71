"""The findings table of a run's Prefect artifact: narrow, Chinese throughout, personal data masked.

One row per finding, the findings resolved since the previous run included (变化 已解决). Columns:
推荐单位, 申报单位, 规则 (title and code), 严重程度 (错误/警告/提示), 字段 (the field's Chinese label),
填写值 (masked), 说明, 变化 (新增/持续/已解决), 豁免. Long text is shortened with "…"; the full text is in
the run's exceptions.html (linked by the report artifact). Sized so that every column starts within a
1400 px wide browser window in the Prefect UI (tests/test_artifacts_browser.py).
"""

from __future__ import annotations

from .common import CHANGE_ZH, all_rows, applicant_of
from .masking import PERSONAL_FIELDS, mask_finding_value, mask_for_record

# characters kept per column (a CJK character is about two Latin ones wide)
WIDTH = {"unit": 8, "applicant": 12, "rule": 14, "value": 12, "message": 24}
NO_FINDINGS = [{"说明": "没有发现问题"}]


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters (the last one "…" when cut)."""
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def findings_table(records) -> list[dict]:
    """The findings artifact's rows (see the module docstring), worst first, resolved last."""
    rows = []
    for r in all_rows(records):
        f, rec = r.f, r.rec
        personal = [(str(f.value), f.field)] if f.field in PERSONAL_FIELDS and f.value is not None else []
        rows.append({
            "推荐单位": shorten(mask_for_record(r.unit, rec), WIDTH["unit"]),
            "申报单位": shorten(mask_for_record(applicant_of(rec), rec), WIDTH["applicant"]),
            "规则": f"{shorten(r.rule_title, WIDTH['rule'])} {f.code}" if r.rule_title != f.code else f.code,
            "严重程度": r.severity_zh,
            "字段": r.field_zh,
            "填写值": shorten(mask_finding_value(f, rec), WIDTH["value"]),
            "说明": shorten(mask_for_record(f.message, rec, personal), WIDTH["message"]),
            "变化": CHANGE_ZH.get(r.change or "", ""),
            "豁免": "是" if f.waived else "",
        })
    return rows
