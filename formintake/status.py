"""An application record's status from its findings (rules.md, *Record status*).

``unreadable``   the file could not be read as a form (an intake error: the caller says ``readable``)
``rejected``     at least one error a reviewer has not waived
``needs_review`` warnings a reviewer has not waived, and no such error
``accepted``     everything else (info findings and waived findings do not count)

``superseded`` is not computed here: the caller sets it on an upload a later correction replaced.

This is the one place a status is computed: when a record is built (:func:`compute_status`) and when its
findings or their waivers change (:func:`refresh_status`, called by ``waivers.apply_waivers``).
"""

from __future__ import annotations

from collections.abc import Iterable

from formintake.findings import RULES
from formintake.models import Finding, Record, Status


def is_readable(findings: Iterable[Finding]) -> bool:
    """False when an intake error (FILE_* / FORM_*) says the file could not be read as a form."""
    return not any(f.severity == "error" and f.code in RULES and RULES[f.code].scope == "intake" for f in findings)


def compute_status(findings: Iterable[Finding], readable: bool | None = None) -> Status:
    """``readable`` defaults to what the findings say (:func:`is_readable`)."""
    findings = list(findings)
    if readable is None:
        readable = is_readable(findings)
    if not readable:
        return "unreadable"
    active = {f.severity for f in findings if not f.waived}
    if "error" in active:
        return "rejected"
    if "warning" in active:
        return "needs_review"
    return "accepted"


def refresh_status(record: Record) -> None:
    """Recompute a record's status after its findings (or their waivers) changed.

    A superseded record stays superseded and an unreadable one unreadable: no waiver makes a file readable.
    """
    if record.status not in ("superseded", "unreadable"):
        record.status = compute_status(record.findings, readable=True)
