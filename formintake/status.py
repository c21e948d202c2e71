"""An application record's status from its findings (rules.md, *Record status*).

``unreadable``   the file could not be read as a form (an intake error: the caller says ``readable``)
``rejected``     at least one error a reviewer has not waived
``needs_review`` warnings a reviewer has not waived, and no such error
``accepted``     everything else (info findings and waived findings do not count)

``superseded`` is not computed here: the caller sets it on an upload a later correction replaced.
"""

from __future__ import annotations

from collections.abc import Iterable

from formintake.models import Finding, Record, Status


def compute_status(findings: Iterable[Finding], readable: bool) -> Status:
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
