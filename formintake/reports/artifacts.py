"""The findings table of a run's Prefect artifact: narrow, Chinese throughout, personal data masked.

One row per finding, the findings resolved since the previous run included (变化 已解决). Columns:
严重程度 (错误/警告/提示, ·豁免 when waived), 变化 (新增/持续/已解决), 申报单位, 规则 (title and code),
字段 (the field's Chinese label), 填写值 (masked), 说明. Long text is shortened with "…"; the full text is in
the run's exceptions.html (linked by the report artifact). Sized so that every column starts within a
1400 px wide browser window in the Prefect UI (tests/test_artifacts_browser.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .common import CHANGE_ZH, all_rows, applicant_of
from .masking import PERSONAL_FIELDS, mask_finding_value, mask_for_record, personal_values

# characters kept per column (a CJK character is about two Latin ones wide)
WIDTH = {"applicant": 6, "rule": 6, "field": 5, "value": 6, "message": 24}
NO_FINDINGS = [{"说明": "没有发现问题"}]
# rows in the run's findings artifact, worst first; a last row counts the rest (all in exceptions.html,
# which the report artifact links). At 1,000 forms a run has ~1,500 findings: every one cost the flow
# its masking and the Prefect server a larger artifact, for a table nobody pages through in the UI
ARTIFACT_ROWS = 300
# the legal-form suffix says nothing in a narrow column: 苏州某某科技有限公司 -> 苏州某某科技
_COMPANY_SUFFIX = re.compile(r"(股份有限公司|有限责任公司|有限公司)$")
COLUMNS = ("严重程度", "变化", "申报单位", "规则", "字段", "填写值", "说明")


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters (the last one "…" when cut)."""
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def record_masker(rec) -> Callable[..., str]:
    """``mask_for_record(text, rec, extra)`` as a function of the text, the record's personal values
    looked up once (not once per masked text)."""
    values = personal_values(rec)

    def mask(text: Any, extra: list[tuple[str, str]] = ()) -> str:
        return mask_for_record(text, None, [*values, *extra])

    return mask


def findings_table(records, limit: int | None = None) -> list[dict]:
    """The findings artifact's rows (see the module docstring), worst first, resolved last; with
    ``limit``, that many and a last row that counts the others by severity and points to the report.

    The Prefect UI shows a table artifact without wrapping, in a column about 830 px wide at a
    1400 px window: short columns first, the explanation (the longest) last, so every column starts
    on screen (measured: about 780 px before 说明 with the longest rule code). A waived finding says so
    in 严重程度 (``警告·豁免``). The recommending unit is not a column (no room); the report groups by it.
    """
    rows = []
    maskers: dict[int, Callable[..., str]] = {}
    found = all_rows(records)
    for r in found[:limit]:
        f, rec = r.f, r.rec
        mask = maskers.get(id(rec))
        if mask is None:
            mask = maskers[id(rec)] = record_masker(rec)
        personal = [(str(f.value), f.field)] if f.field in PERSONAL_FIELDS and f.value is not None else []
        title = shorten(r.rule_title, WIDTH["rule"])
        rows.append(dict(zip(COLUMNS, (
            r.severity_zh + ("·豁免" if f.waived else ""),
            CHANGE_ZH.get(r.change or "", ""),
            shorten(_COMPANY_SUFFIX.sub("", mask(applicant_of(rec))), WIDTH["applicant"]),
            f"{title} {f.code}" if r.rule_title != f.code else f.code,
            shorten(r.field_zh, WIDTH["field"]),
            shorten(mask_finding_value(f, rec) if f.field in PERSONAL_FIELDS else mask(r.value_text), WIDTH["value"]),
            shorten(mask(f.message, personal), WIDTH["message"]),
        ))))
    if limit is not None and len(found) > limit:  # the rest are in the report the link artifact opens
        left = found[limit:]
        by = {}
        for r in left:
            by[r.severity_zh] = by.get(r.severity_zh, 0) + 1
        counts = "、".join(f"{k}{v}条" for k, v in by.items())
        rows.append({c: "" for c in COLUMNS} | {
            "说明": f"另有{len(left)}条未列出（{counts}）：完整清单见“异常报告”链接"})
    return rows
