"""Completeness and format (clause 三): FIELD_MISSING, FIELD_PLACEHOLDER, FIELD_INVALID_FORMAT.

Who reports what, so a reviewer never sees one problem twice:

* the extractor's field state decides the code: ``missing`` / absent / empty -> FIELD_MISSING,
  ``placeholder`` -> FIELD_PLACEHOLDER, ``invalid`` -> FIELD_INVALID_FORMAT (one finding per field);
* the 统一社会信用代码 is USCC_INVALID's (validators/uscc.py), also when the extractor could not read it;
* ``commitment_signatory`` / ``commitment_date`` missing or left as a placeholder are COMMITMENT_MISSING's,
  and an empty ``service_scopes`` of a platform form is PLATFORM_NO_SERVICE_SCOPE's: those codes carry
  the clause, so FIELD_MISSING / FIELD_PLACEHOLDER skip them;
* a placeholder left in an optional field is the same as leaving it empty, which is allowed: it is
  recorded as FIELD_PLACEHOLDER with severity ``info``;
* ``direction`` is the intake's (FORM_DIRECTION_AMBIGUOUS) unless nothing said anything about it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType

from formintake.fields import BY_KEY, FieldSpec, fields_for, required_for
from formintake.models import ExtractedForm, FieldValue, Finding
from formintake.validators.ocr_hints import from_ocr, ocr_note
from formintake.validators.registry import RuleContext, rule
from formintake.text import fold

CLAUSE = "三"

# required fields whose absence another, more specific code reports (see the module docstring)
OWNED_BY = {
    "commitment_signatory": "COMMITMENT_MISSING",
    "commitment_date": "COMMITMENT_MISSING",
}
OWNED_BY_DIRECTION = {"platform": {"service_scopes": "PLATFORM_NO_SERVICE_SCOPE"}}
FORMAT_OWNED_ELSEWHERE = {"uscc"}  # USCC_INVALID

POSTCODE_RE = re.compile(r"^\d{6}$")
YEAR_MIN, YEAR_MAX = 1900, 2100


# ---- helpers shared by the application rules ------------------------------------------------------


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set, dict)):
        return len(value) == 0
    return False


def filled(form: ExtractedForm, key: str) -> Any:
    """The normalised value when the field was read (state ok) and is not empty, else None."""
    v = form.value(key)
    return None if is_blank(v) else v


def is_absent(fv: FieldValue | None) -> bool:
    """Absent, marked missing, or read as empty."""
    return fv is None or fv.state == "missing" or (fv.state == "ok" and is_blank(fv.value))


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def zh(key: str) -> str:
    spec = BY_KEY.get(key)
    return spec.zh if spec else key


def owned_elsewhere(key: str, direction: str | None) -> str | None:
    return OWNED_BY.get(key) or OWNED_BY_DIRECTION.get(direction or "", {}).get(key)


# ---- format checks on values that were read --------------------------------------------------------


# forms.md: contact_phone is a "CN mobile or landline": a +86 number of these kinds by libphonenumber's
# numbering plan (area codes, lengths per area, allocated mobile prefixes); not 400/800 service numbers,
# not Hong Kong, Macao or Taiwan numbers
_PHONE_KINDS = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_LANDLINE_KINDS = _PHONE_KINDS - {PhoneNumberType.MOBILE}  # an extension only on a landline
_EXT_WORD = re.compile(r"(?:转|分机|EXT\.?|X)(?=\d{1,6}$)")  # 转123 / 分机123 / EXT123, as libphonenumber's "ext"
_DASH_EXT = re.compile(r"^(.*\d)-(\d{1,6})$")  # 010-68208201-123
_PHONE_SEP = re.compile(r"[/、,;，；]|或")  # several numbers in one cell


def _one_phone_ok(p: str) -> bool:
    tries = [_EXT_WORD.sub(" ext ", p)]
    m = _DASH_EXT.match(p)
    if m:
        tries.append(f"{m.group(1)} ext {m.group(2)}")
    for t in tries:
        try:
            n = phonenumbers.parse(t, "CN")
        except phonenumbers.NumberParseException:
            continue
        if n.country_code == 86 and phonenumbers.is_valid_number(n) and \
                phonenumbers.number_type(n) in (_LANDLINE_KINDS if n.extension else _PHONE_KINDS):
            return True
    return False


def phone_ok(text: str) -> bool:
    """One or more CN mobile or landline numbers (``/``、``，``、``或`` between them), full-width forms and
    spaces folded, ``+86``/``0086`` allowed, the area code in brackets or not, a landline with an
    extension (``转``/``分机``/``-``/``EXT``)."""
    t = fold(text).upper().replace("—", "-").replace("–", "-")
    parts = [p for p in _PHONE_SEP.split(t) if p]
    return bool(parts) and all(_one_phone_ok(p) for p in parts)


def email_ok(text: str) -> bool:
    """An address email-validator accepts (syntax only, no DNS: nothing goes online): an ASCII local part
    (what Chinese mail services take), an ASCII or internationalised domain; full-width forms folded.
    An ideographic full stop (``163。com``) is not a dot here, although IDNA would read it as one: the
    address is kept as written, and as written it does not work everywhere."""
    t = fold(text)
    if "。" in t:
        return False
    try:
        validate_email(t, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return False
    return True


# the catalogue's texts (FIELD_INVALID_FORMAT) for a value of a type that is not of its type:
# (what is wrong, what was expected)
_FORMAT_TEXTS = {
    "email": ("email.what", "email.expected"),
    "phone": ("phone.what", "phone.expected"),
    "postcode": ("postcode.what", "postcode.expected"),
    "year": ("year.what", "year.expected"),
    "date": ("date.what", "date.expected"),
    "integer": ("integer.what", "integer.expected"),
    "decimal": ("decimal.what", "decimal.expected"),
}


def _format_problem(spec: FieldSpec, fv: FieldValue) -> dict[str, Any] | None:
    """None when a value read as ``ok`` is of its type, else the values the catalogue's texts name."""
    v = fv.value
    t = spec.type
    if t == "email":
        ok = isinstance(v, str) and email_ok(v)
    elif t == "phone":
        ok = isinstance(v, (str, int)) and phone_ok(str(v))
    elif t == "postcode":
        if isinstance(v, int) and not isinstance(v, bool):
            s = fv.raw if fv.raw else str(v).zfill(6)  # an int lost its leading 0 (010010 呼和浩特)
        else:
            s = v if isinstance(v, str) else ""
        ok = bool(POSTCODE_RE.match(fold(s)))
    elif t == "year":
        n = as_number(v)
        ok = not (n is None or n != int(n) or not YEAR_MIN <= n <= YEAR_MAX)
    elif t == "date":
        d = as_date(v)
        ok = not (d is None or not YEAR_MIN <= d.year <= YEAR_MAX)
    elif t == "integer":
        n = as_number(v)
        low = 1 if spec.key == "recommend_rank" else 0
        if n is None or n != int(n) or n < low:
            return {"low": low}
        return None
    elif t == "decimal":
        n = as_number(v)
        ok = not (n is None or n < 0)
    else:
        return None
    return None if ok else {}


# ---- rules -----------------------------------------------------------------------------------------


def _direction_known(form: ExtractedForm) -> bool:
    return bool(
        form.direction
        or filled(form, "direction")
        or any(f.code == "FORM_DIRECTION_AMBIGUOUS" for f in form.intake_findings)
    )


@rule("FIELD_MISSING")
def check_required(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """One finding per required field (R, and R* of the form's direction) that is absent or empty."""
    for spec in required_for(form.direction):
        if spec.key == "direction" and _direction_known(form):
            continue
        if owned_elsewhere(spec.key, form.direction):
            continue
        fv = form.fields.get(spec.key)
        if not is_absent(fv):
            continue
        yield ctx.finding(
            "FIELD_MISSING",
            field=spec.key,
            value=None,
            expected=ctx.text("FIELD_MISSING", "expected", field_zh=spec.zh),
            message=ctx.text("FIELD_MISSING", "message", field_zh=spec.zh),
            hint=ctx.text("FIELD_MISSING", "hint", label=spec.labels[0]),
            evidence=form.evidence(spec.key),
        )


@rule("FIELD_PLACEHOLDER")
def check_placeholders(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """A template hint instead of a value: an error in a required field, info in an optional one."""
    required = {s.key for s in required_for(form.direction)}
    for spec in fields_for(form.direction):
        fv = form.fields.get(spec.key)
        if fv is None or fv.state != "placeholder" or owned_elsewhere(spec.key, form.direction):
            continue
        is_required = spec.key in required
        expected, message, hint = (("required.expected", "required.message", "required.hint") if is_required
                                   else ("optional.expected", "optional.message", "optional.hint"))
        yield ctx.finding(
            "FIELD_PLACEHOLDER",
            severity=None if is_required else "info",
            field=spec.key,
            value=fv.raw,
            expected=ctx.text("FIELD_PLACEHOLDER", expected, field_zh=spec.zh),
            message=ctx.text("FIELD_PLACEHOLDER", message, field_zh=spec.zh, raw=fv.raw or ""),
            hint=ctx.text("FIELD_PLACEHOLDER", hint, label=spec.labels[0]),
            evidence=fv.evidence,
        )


@rule("FIELD_INVALID_FORMAT")
def check_formats(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """Values the extractor could not read (state ``invalid``), values of the wrong type (e-mail,
    phone, postcode, year, date, numbers), and a 项目简介 outside the configured length (a warning:
    the length comes from the template, not from the notice, so a reviewer decides)."""
    for spec in fields_for(form.direction):
        if spec.key in FORMAT_OWNED_ELSEWHERE:
            continue
        fv = form.fields.get(spec.key)
        if fv is None:
            continue
        if fv.state == "invalid":
            yield ctx.finding(
                "FIELD_INVALID_FORMAT",
                field=spec.key,
                value=fv.raw,
                expected=_expected_for(spec, ctx),
                message=ctx.text("FIELD_INVALID_FORMAT", "unreadable_why.message" if fv.error else "unreadable.message",
                                 field_zh=spec.zh, raw=fv.raw or "", type_zh=_type_zh(spec, ctx), why=fv.error),
                hint=ctx.text("FIELD_INVALID_FORMAT", "hint", label=spec.labels[0]),
                evidence=fv.evidence,
            )
            continue
        if fv.state != "ok" or is_blank(fv.value):
            continue
        problem = _format_problem(spec, fv)
        if problem is not None:
            what, expected = _FORMAT_TEXTS[spec.type]
            if spec.type == "decimal" and spec.unit:
                expected = "decimal_unit.expected"
            shown = fv.raw if fv.raw is not None else fv.value
            note = ""
            if from_ocr(fv) and spec.type in ("phone", "postcode", "email"):
                note = ocr_note(str(shown), lambda c, s=spec, f=fv: _format_problem(
                    s, f.model_copy(update={"value": c, "raw": c})) is None)
            yield ctx.finding(
                "FIELD_INVALID_FORMAT",
                field=spec.key,
                value=fv.value,
                expected=ctx.text("FIELD_INVALID_FORMAT", expected, unit=spec.unit, **problem),
                message=ctx.text("FIELD_INVALID_FORMAT", "message", field_zh=spec.zh, shown=shown,
                                 what=ctx.text("FIELD_INVALID_FORMAT", what), note=note),
                hint=ctx.text("FIELD_INVALID_FORMAT", "hint", label=spec.labels[0]),
                evidence=fv.evidence,
            )
    yield from _check_summary_length(form, ctx)


def _check_summary_length(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    text = filled(form, "summary")
    if not isinstance(text, str):
        return
    th = ctx.campaign.thresholds
    n = len(fold(text))
    if th.summary_min_chars <= n <= th.summary_max_chars:
        return
    message, hint = ("summary_short.message", "summary_short.hint") if n < th.summary_min_chars \
        else ("summary_long.message", "summary_long.hint")
    yield ctx.finding(
        "FIELD_INVALID_FORMAT",
        severity="warning",
        field="summary",
        value=ctx.text("FIELD_INVALID_FORMAT", "summary.value", n=n),
        expected=ctx.text("FIELD_INVALID_FORMAT", "summary.expected"),
        message=ctx.text("FIELD_INVALID_FORMAT", message, n=n),
        hint=ctx.text("FIELD_INVALID_FORMAT", hint),
        evidence=form.evidence("summary"),
    )


# the catalogue's words (FIELD_INVALID_FORMAT) for a field's type, and what an unreadable value of it
# should have been (by type; integers and decimals with their unit when the field has one)
_TYPE_TEXTS = {
    "integer": "integer.type", "decimal": "decimal.type", "date": "date.type", "year": "year.type",
    "email": "email.type", "phone": "phone.type", "postcode": "postcode.type", "set": "choice.type",
    "enum": "choice.type", "text": "text.type", "uscc": "uscc.type",
}
_UNREADABLE_EXPECTED = {
    "date": "unreadable.date.expected", "year": "unreadable.year.expected", "email": "unreadable.email.expected",
    "phone": "unreadable.phone.expected", "postcode": "unreadable.postcode.expected",
}


def _type_zh(spec: FieldSpec, ctx: RuleContext) -> str:
    which = _TYPE_TEXTS.get(spec.type)
    return ctx.text("FIELD_INVALID_FORMAT", which) if which else spec.type


def _expected_for(spec: FieldSpec, ctx: RuleContext) -> str:
    if spec.options:
        return ctx.text("FIELD_INVALID_FORMAT", "unreadable.options.expected", options="、".join(spec.options))
    if spec.type in ("integer", "decimal"):
        if spec.unit:
            return ctx.text("FIELD_INVALID_FORMAT", "unreadable.number_unit.expected", type_zh=_type_zh(spec, ctx),
                            unit=spec.unit)
        return _type_zh(spec, ctx)
    which = _UNREADABLE_EXPECTED.get(spec.type)
    return ctx.text("FIELD_INVALID_FORMAT", which) if which else _type_zh(spec, ctx)
