"""Masking of personal data (phone numbers, e-mail addresses, ID numbers) for logs and Prefect artifacts.

The report files themselves are not masked: ministry reviewers need the contact details. Anything that
leaves the reviewers' hands in a less controlled way (log lines, Prefect artifacts, error messages)
goes through :func:`mask_pii` first.

    >>> mask_pii("联系人电话13812341234，邮箱 zhangsan@example.com，身份证110101199003071234")
    '联系人电话138****1234，邮箱 z***@example.com，身份证1101**********1234'

Masking errs on the side of hiding: an 18-character all-digit code (a rare all-digit 统一社会信用代码)
is masked like an ID number. Organisation codes with letters (the usual USCC) are left alone.
"""

from __future__ import annotations

import re
from typing import Any

# 18-digit resident ID (GB 11643): 17 digits + digit or X, not part of a longer alphanumeric run
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")
# 15-digit first-generation ID numbers
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{7}(\d{4})(?![0-9A-Za-z])")
# mainland mobile numbers, optionally +86 / 86- prefixed and written 138-1234-5678 / 138 1234 5678
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[- ]?)?)(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?![0-9])")
# landlines: area code 0xx / 0xxx, optional dash or space, 7–8 digit number, optional extension
_LANDLINE = re.compile(r"(?<![0-9])(\(?0\d{2,3}\)?)([- ]?)\d{3,4}[- ]?(\d{4})(?![0-9])")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
# what applicants write instead of an e-mail address: ＠ or # for @, full-width letters and dots
_EMAILISH = re.compile(r"(?<![A-Za-z0-9._%+\-Ａ-Ｚａ-ｚ０-９])([A-Za-z0-9Ａ-Ｚａ-ｚ０-９])[A-Za-z0-9._%+\-Ａ-Ｚａ-ｚ０-９．]*"
                       r"[@＠#]\s?([A-Za-z0-9\-Ａ-Ｚａ-ｚ０-９]+(?:[.．][A-Za-z0-9\-Ａ-Ｚａ-ｚ０-９]+)*[.．][A-Za-zＡ-Ｚａ-ｚ]{2,})")
# a mobile number with a digit too few or too many (1391234567): still somebody's phone
_MOBILEISH = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d)\d{5,9}(\d{2})(?![0-9A-Za-z])")  # not inside a hex id

# fields whose every value is personal data, however malformed: masked whole in logs and artifacts
PERSONAL_FIELDS = frozenset({"contact_phone", "contact_email", "contact_name", "legal_representative"})


def mask_pii(text: Any) -> str:
    """``text`` with phone numbers, e-mail addresses and ID numbers masked.

    * mobile ``13812341234`` -> ``138****1234`` (a ``+86`` prefix is kept)
    * landline ``010-68201234`` -> ``010-****1234``
    * e-mail ``zhangsan@example.com`` -> ``z***@example.com``
    * 18-digit ID ``110101199003071234`` -> ``1101**********1234`` (15-digit IDs likewise)
    """
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    s = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", s)
    s = _EMAILISH.sub(lambda m: f"{m.group(1)}***@{m.group(2)}" if "***@" not in m.group(0) else m.group(0), s)
    s = _ID18.sub(lambda m: f"{m.group(1)}{'*' * 10}{m.group(2)}", s)
    s = _ID15.sub(lambda m: f"{m.group(1)}{'*' * 7}{m.group(2)}", s)
    s = _MOBILE.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(3)}", s)
    s = _LANDLINE.sub(lambda m: f"{m.group(1)}{m.group(2) or '-'}****{m.group(3)}", s)
    s = _MOBILEISH.sub(lambda m: f"{m.group(1)}****{m.group(2)}", s)
    return s


_DIGIT_RUN = re.compile(r"\d{5,}")


def mask_value(value: Any, field: str = "") -> str:
    """A personal field's value, whatever its shape. A phone or e-mail the patterns recognise keeps
    their usual shape (``138****5678``, ``l***@163.com``) when nothing personal is left over; anything
    else keeps its first character only (``李**``, ``1***``)."""
    if value is None:
        return ""
    v = str(value).strip()
    if not v:
        return ""
    if field in ("contact_phone", "contact_email"):
        m = mask_pii(v)
        rest = re.sub(r"\d*\*{4}\d*|\w\*{3}@\S*", "", m)  # what the patterns left in clear
        if m != v and not _DIGIT_RUN.search(rest) and not re.search(r"[@＠#]", rest):
            return m
    return v[0] + "*" * min(3, max(1, len(v) - 1))


def personal_values(record: Any) -> list[tuple[str, str]]:
    """(text, field) of a record's personal fields (as read and as written), longest first. Its raw text
    is read once (a record holds it packed, models.Packed: each look-up would decode it again)."""
    out: dict[str, str] = {}
    get = record.get if isinstance(record, dict) else (lambda name, default: getattr(record, name, default))
    fields = get("fields", None)
    raw = get("raw", None)
    fields = fields if isinstance(fields, dict) else dict(fields.items()) if fields is not None else {}
    raw = raw if isinstance(raw, dict) else dict(raw.items()) if raw is not None else {}
    for key in sorted(PERSONAL_FIELDS):
        for v in (fields.get(key), raw.get(key)):
            if v is not None and len(str(v).strip()) >= 2:
                out.setdefault(str(v).strip(), key)
    return sorted(out.items(), key=lambda kv: len(kv[0]), reverse=True)


def mask_for_record(text: Any, record: Any = None, extra: list[tuple[str, str]] = ()) -> str:
    """``text`` masked by pattern *and* by field: every value the record holds in a personal field
    (``contact_phone``, ``contact_email``, ``contact_name``, ``legal_representative``), malformed or not,
    is replaced wherever it occurs — a malformed phone or e-mail is exactly what becomes a finding."""
    s = "" if text is None else str(text)
    for v, field in [*(personal_values(record) if record is not None else []), *extra]:
        if v and len(v) >= 2:
            s = s.replace(v, mask_value(v, field))
    return mask_pii(s)


def mask_finding_value(finding: Any, record: Any = None) -> str:
    """The finding's value for a log or artifact: masked whole when it belongs to a personal field."""
    if finding.value is None:
        return ""
    if finding.field in PERSONAL_FIELDS:
        return mask_value(finding.value, finding.field)
    return mask_for_record(finding.value, record)
