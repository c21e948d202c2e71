"""Consistency inside one application: names, region, numbers, dates, direction, commitment block.

Every rule compares only values that were read; a missing or unreadable value is reported by the
completeness rules, never here (COMMITMENT_MISSING excepted: it owns the commitment block's signatory
and date, and FIELD_MISSING / FIELD_PLACEHOLDER leave those two fields to it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from formintake.fields import BY_KEY, FIELDS
from formintake.models import DIRECTION_ZH, ExtractedForm, Finding
from formintake.findings import zh_date
from formintake.validators.completeness import as_date, as_number, filled, is_absent, zh
from formintake.validators.eligibility import address_province, non_mainland_place
from formintake.validators.registry import RuleContext, rule
from formintake.text import name_key, strip_seal
from formintake.validators.uscc import uscc_province, valid_uscc_of

NAME_KEYS = ("applicant_name", "applicant_name_cover", "applicant_name_commitment")


def _name_norm(name: str) -> str:
    """name_key, also dropping a 盖章 / 公章 left after the name (``XX有限公司（盖章）``)."""
    return strip_seal(name_key(name))


@rule("APPLICANT_NAME_MISMATCH")
def check_applicant_names(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """The names written in 基本情况, on the cover and in the commitment block (where present) must be
    the same after normalising spaces, brackets and full-width forms. One finding per name that differs
    from the first one present (applicant_name, else the cover's)."""
    names = [(k, v) for k in NAME_KEYS if isinstance(v := filled(form, k), str)]
    if len(names) < 2:
        return
    ref_key, ref = names[0]
    for key, name in names[1:]:
        if _name_norm(name) == _name_norm(ref):
            continue
        yield ctx.finding(
            "APPLICANT_NAME_MISMATCH",
            field=key,
            value=name,
            expected=ctx.text("APPLICANT_NAME_MISMATCH", "expected", ref_zh=zh(ref_key), ref=ref),
            message=ctx.text("APPLICANT_NAME_MISMATCH", "message", field_zh=zh(key), name=name, ref_zh=zh(ref_key), ref=ref),
            hint=ctx.text("APPLICANT_NAME_MISMATCH", "hint"),
            evidence=form.evidence(key),
        )


@rule("USCC_REGION_MISMATCH")
def check_uscc_region(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """Province of the USCC's registration authority (positions 3–8) vs the registered address's.
    Skipped when the code is invalid, national (10…), the address's province cannot be told, or the
    address is outside mainland China (APPLICANT_NOT_PRC_REGISTERED)."""
    code = valid_uscc_of(form)
    addr = filled(form, "registered_address")
    if not code or not isinstance(addr, str) or non_mainland_place(addr):
        return
    code_prov, addr_prov = uscc_province(code), address_province(addr)
    if not code_prov or not addr_prov or code_prov == addr_prov:
        return
    yield ctx.finding(
        "USCC_REGION_MISMATCH",
        field="uscc",
        value=code,
        expected=ctx.text("USCC_REGION_MISMATCH", "expected", address_province=addr_prov),
        message=ctx.text("USCC_REGION_MISMATCH", "message", region=code[2:8], code_province=code_prov, address=addr,
                         address_province=addr_prov),
        hint=ctx.text("USCC_REGION_MISMATCH", "hint"),
        evidence=form.evidence("uscc"),
    )


# (part, whole, directions the pair applies to)
NUMBER_PAIRS = (
    ("rnd_staff", "employees", None),
    ("invested_wan", "total_investment_wan", None),
    ("mau_prev_avg", "registered_users", "platform"),
)


def _num_zh(key: str, n: float) -> str:
    unit = BY_KEY[key].unit or ""
    return f"{n:,.0f}{unit}" if n == int(n) else f"{n:,.2f}{unit}"


def _short_zh(key: str) -> str:
    """``其中研发人员（人）`` -> ``研发人员``: the name without 其中 and its unit, for sentences."""
    return re.sub(r"（[^（）]*）$", "", zh(key)).removeprefix("其中")


@rule("NUMBER_INCONSISTENT")
def check_numbers(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """A part exceeds its whole; one finding per pair, on the part's field."""
    for part, whole, direction in NUMBER_PAIRS:
        if direction and form.direction != direction:
            continue
        p, w = as_number(filled(form, part)), as_number(filled(form, whole))
        if p is None or w is None or p <= w:
            continue
        pz, wz = _short_zh(part), _short_zh(whole)
        yield ctx.finding(
            "NUMBER_INCONSISTENT",
            field=part,
            value=filled(form, part),
            expected=ctx.text("NUMBER_INCONSISTENT", "expected", whole=wz, whole_value=_num_zh(whole, w)),
            message=ctx.text("NUMBER_INCONSISTENT", "message", part=pz, part_value=_num_zh(part, p), whole=wz,
                             whole_value=_num_zh(whole, w)),
            hint=ctx.text("NUMBER_INCONSISTENT", "hint", part=pz, whole=wz),
            evidence=form.evidence(part),
        )


@rule("DATE_INCONSISTENT")
def check_dates(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """apply/commitment/recommender dates before the notice date (campaign config); founded_on,
    start_date and (experience centers) opened_on after apply_date. One finding per date."""
    notice = ctx.campaign.notice_date
    for key in ("apply_date", "commitment_date", "recommender_date"):
        d = as_date(filled(form, key))
        if d is not None and d < notice:
            yield ctx.finding(
                "DATE_INCONSISTENT",
                field=key,
                value=d.isoformat(),
                expected=ctx.text("DATE_INCONSISTENT", "before_notice.expected"),  # the notice's date: a term
                message=ctx.text("DATE_INCONSISTENT", "before_notice.message", field_zh=zh(key), date=zh_date(d)),
                hint=ctx.text("DATE_INCONSISTENT", "before_notice.hint", field_zh=zh(key)),
                evidence=form.evidence(key),
            )
    applied = as_date(filled(form, "apply_date"))
    if applied is None:
        return
    later = ["founded_on", "start_date"] + (["opened_on"] if form.direction == "experience_center" else [])
    for key in later:
        d = as_date(filled(form, key))
        if d is not None and d > applied:
            yield ctx.finding(
                "DATE_INCONSISTENT",
                field=key,
                value=d.isoformat(),
                expected=ctx.text("DATE_INCONSISTENT", "after_apply.expected", apply_date=zh_date(applied)),
                message=ctx.text("DATE_INCONSISTENT", "after_apply.message", field_zh=zh(key), date=zh_date(d),
                                 apply_date=zh_date(applied)),
                hint=ctx.text("DATE_INCONSISTENT", "after_apply.hint", field_zh=zh(key)),
                evidence=form.evidence(key),
            )


@rule("DIRECTION_FIELDS_MISMATCH")
def check_other_direction(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """Values in the other direction's section (placeholders don't count). One finding listing them."""
    other = {"platform": "experience_center", "experience_center": "platform"}.get(form.direction or "")
    if not other:
        return
    keys = [f.key for f in FIELDS if f.section == other and filled(form, f.key) is not None]
    if not keys:
        return
    yield ctx.finding(
        "DIRECTION_FIELDS_MISMATCH",
        field="",
        value={k: filled(form, k) for k in keys},
        expected=ctx.text("DIRECTION_FIELDS_MISMATCH", "expected", direction=DIRECTION_ZH[form.direction]),
        message=ctx.text("DIRECTION_FIELDS_MISMATCH", "message", direction=DIRECTION_ZH[form.direction],
                         other=DIRECTION_ZH[other], fields="、".join(zh(k) for k in keys)),
        hint=ctx.text("DIRECTION_FIELDS_MISMATCH", "hint"),
        evidence=form.evidence(keys[0]),
    )


@rule("COMMITMENT_MISSING")
def check_commitment(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """No signatory or no date under 申报单位承诺 (absent, empty, or a placeholder). One finding per
    part; FIELD_MISSING / FIELD_PLACEHOLDER do not report these two fields. An unreadable date is
    FIELD_INVALID_FORMAT's."""
    parts = (
        ("commitment_signatory", "signatory", "signatory.hint"),
        ("commitment_date", "date", "date.hint"),
    )
    for key, part, hint in parts:
        fv = form.fields.get(key)
        if not (is_absent(fv) or fv.state == "placeholder"):
            continue
        placeholder = fv is not None and fv.state == "placeholder"
        what = ctx.text("COMMITMENT_MISSING", part)
        yield ctx.finding(
            "COMMITMENT_MISSING",
            field=key,
            value=fv.raw if placeholder else None,
            expected=ctx.text("COMMITMENT_MISSING", "expected", what=what),
            message=ctx.text("COMMITMENT_MISSING", "placeholder.message" if placeholder else "message", what=what),
            hint=ctx.text("COMMITMENT_MISSING", hint),
            evidence=form.evidence(key),
        )
