"""Reviewers' waivers: who accepted which finding of which application, when and why.

They live in one JSON file in the results location, ``state/<campaign>/waivers.json``::

    {"campaign": "2023", "waivers": [{"application_id": "...", "code": "CENTER_AREA_BELOW_300",
      "field": "area_sqm", "by": "张三", "at": "2023-09-20T08:00:00+00:00", "reason": "..."}]}

A waiver matches a finding by ``(application_id, code, field)`` exactly (``field`` empty matches a finding
with an empty field). Application ids are stable across corrections, so waivers survive re-runs; a
waiver whose finding is gone stays in the file, harmless, and applies again if the finding comes back.

Policy (:func:`waivable`): every warning (intake warnings such as FILE_OCR_USED included); the errors
listed in the campaign's ``[waivers]`` section (ones a reviewer can judge from the file or the official
lists); never an intake error (no waiver makes a file readable) and never an info (nothing to waive).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from formintake.config import Campaign, ConfigError, Waivers
from formintake.findings import RULES
from formintake.keys import ResultKeys
from formintake.models import Finding, Record, Waiver
from formintake.status import refresh_status


class WaiverError(ConfigError):
    """A waiver that cannot be given, or an unreadable waivers file (the CLI exits 2 with the reason)."""


def waivers_key(campaign_id: str) -> str:
    return ResultKeys(campaign_id).waivers


def waivable(finding: Finding | str, campaign: Campaign | None = None) -> bool:
    """May a reviewer waive this finding? Severity is the finding's own (a rule may downgrade a code to
    a warning, e.g. the 项目简介 length check's FIELD_INVALID_FORMAT); given a bare code, its registered
    severity. Errors: the campaign's ``[waivers] waivable_errors`` (else the packaged default), never an
    intake error; INTERNAL_ERROR never (our fault, not the applicant's: it is retried, not waived)."""
    code = finding if isinstance(finding, str) else finding.code
    r = RULES.get(code)
    if r is None or code == "INTERNAL_ERROR":
        return False
    severity = r.severity if isinstance(finding, str) else finding.severity
    if severity == "info":
        return False
    if severity == "warning":
        return True  # FILE_OCR_USED included: the reviewer compared the values with the scan
    allowed = (campaign.waivers if campaign is not None else Waivers()).waivable_errors
    return r.scope != "intake" and code in allowed  # no waiver makes a file readable


def load_waivers(data: bytes | str | None) -> list[Waiver]:
    """Parse the waivers file; ``None`` or empty means no waivers yet. A broken file is an error, not
    silently empty: losing waivers would flip statuses."""
    if data is None or not data.strip():
        return []
    try:
        doc = json.loads(data)
        items = doc.get("waivers", []) if isinstance(doc, dict) else doc
        return [Waiver.model_validate(w) for w in items]
    except (ValueError, TypeError, AttributeError, ValidationError) as exc:
        raise WaiverError(f"waivers file is not valid: {exc}".splitlines()[0]) from exc


def dump_waivers(waivers: Iterable[Waiver], campaign_id: str | None = None) -> bytes:
    items = sorted(waivers, key=lambda w: (w.application_id, w.code, w.field))
    doc: dict[str, Any] = {"campaign": campaign_id, "waivers": [w.model_dump(mode="json") for w in items]}
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def apply_waivers(records: Iterable[Record], waivers: Iterable[Waiver], campaign: Campaign | None = None) -> None:
    """Set ``finding.waiver`` on every finding a waiver matches (and clear it where none does), then
    recompute each record's status. Waivers of codes that are not waivable are ignored."""
    index = {(w.application_id, w.code, w.field): w for w in waivers}
    for r in records:
        for f in r.findings:
            w = index.get((r.application_id, f.code, f.field))
            f.waiver = w if w is not None and waivable(f, campaign) else None
        refresh_status(r)


def add_waiver(
    waivers: list[Waiver],
    application_id: str,
    code: str,
    *,
    by: str,
    reason: str,
    field: str = "",
    at: str | None = None,
    record: Record | None = None,
    campaign: Campaign | None = None,
) -> Waiver:
    """Add (or replace: same application, code and field) a waiver in ``waivers`` and return it.

    With the application's latest ``record``, the finding must exist, and an omitted ``field`` is taken
    from it when the code occurs on one field only.
    """
    code = code.strip().upper()
    if not by.strip() or not reason.strip():
        raise WaiverError("a waiver needs who (--by) and why (--reason)")
    cannot = f"{code} cannot be waived (only warnings and the campaign's waivable errors)"
    if record is None:
        if not waivable(code, campaign):
            raise WaiverError(cannot)
    else:
        fields = sorted({f.field for f in record.findings if f.code == code})
        if not fields:
            raise WaiverError(f"application {application_id} has no {code} finding")
        if not field and "" not in fields:
            if len(fields) > 1:
                raise WaiverError(f"{code} is on several fields of {application_id} ({', '.join(fields)}): give --field")
            field = fields[0]
        if field not in fields:
            raise WaiverError(f"application {application_id} has no {code} finding on field '{field}'")
        # the finding's own severity decides (a downgraded warning is waivable like any warning)
        if not any(waivable(f, campaign) for f in record.findings if f.code == code and f.field == field):
            raise WaiverError(cannot)
    w = Waiver(
        application_id=application_id,
        code=code,
        field=field,
        by=by.strip(),
        reason=reason.strip(),
        at=at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    waivers[:] = [x for x in waivers if (x.application_id, x.code, x.field) != (application_id, code, field)]
    waivers.append(w)
    return w


def remove_waiver(waivers: list[Waiver], application_id: str, code: str, field: str = "") -> bool:
    """Withdraw a waiver; True if there was one."""
    n = len(waivers)
    waivers[:] = [x for x in waivers if (x.application_id, x.code, x.field) != (application_id, code.upper(), field)]
    return len(waivers) < n


def add_waiver_to_store(store, campaign_id: str, application_id: str, code: str, *, by: str, reason: str,
                        field: str = "", campaign: Campaign | None = None) -> Waiver:
    """``formintake waive``: read ``state/<campaign>/waivers.json`` and the application's latest record
    (``records/<campaign>/<application_id>.json``) from the results store, add the waiver, write the file.
    The statuses follow on the next run (or ``apply_waivers``)."""
    try:
        record = Record.model_validate_json(store.get(ResultKeys(campaign_id).record(application_id)))
    except KeyError:
        raise WaiverError(f"no application {application_id} in campaign {campaign_id}") from None
    key = waivers_key(campaign_id)
    try:
        current = store.get(key)
    except KeyError:
        current = None
    waivers = load_waivers(current)
    w = add_waiver(waivers, application_id, code, by=by, reason=reason, field=field, record=record, campaign=campaign)
    store.put(key, dump_waivers(waivers, campaign_id), "application/json")
    return w
