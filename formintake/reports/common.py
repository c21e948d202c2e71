"""What every report writer shares: the input, finding rows, ordering, grouping and summary counts.

Pure functions over :class:`ReportInput`; nothing here writes files or talks to storage.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import unicodedata

import orjson
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from formintake.config import DEFAULT_TIMEZONE, Campaign, load_campaign
from formintake.fields import BY_KEY, FIELDS
from formintake.findings import RULES
from formintake.models import DIRECTION_ZH, SEVERITY_ZH, STATUS_ZH, Finding, Record

REPORT_TITLE_SUFFIX = "申报材料异常报告"
UNKNOWN_UNIT = "未知推荐单位"

SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
# the order applications are listed in, worst first
STATUS_RANK = {"unreadable": 0, "rejected": 1, "needs_review": 2, "accepted": 3, "superseded": 4}
# the status tiles of the summary (superseded uploads are counted from ReportInput.superseded)
STATUS_TILES = ("accepted", "needs_review", "rejected", "unreadable", "superseded")
STATUS_SHORT_ZH = {**STATUS_ZH, "superseded": "已替代"}
CHANGE_ZH = {"new": "新增", "persisting": "持续", "resolved": "已解决"}
STATS_ZH = {"processed": "本次处理文件", "reused": "沿用上次结果", "seconds": "用时（秒）", "failed": "处理失败",
            "versions": "对象版本数"}


def local_time(iso: str | None, tz: str = DEFAULT_TIMEZONE) -> str:
    """An ISO timestamp as reviewers read it: ``2023-09-08 17:30:00`` in the campaign's time zone."""
    if not iso:
        return ""
    try:
        t = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def _int(v: Any, default: int) -> int:
    return default if v is None or v == "" else int(v)


def stats_text(stats: dict | None) -> str:
    """Run statistics in Chinese, e.g. ``本次处理文件 20，沿用上次结果 0，用时（秒） 12.3``."""
    if not stats:
        return ""
    parts = []
    for k, v in stats.items():
        if isinstance(v, float):
            v = f"{v:.1f}"
        parts.append(f"{STATS_ZH.get(k, k)} {v}")
    return "，".join(parts)


@dataclass
class ReportInput:
    campaign: Campaign
    run_id: str  # e.g. "20261127T140501Z"
    generated_at: str  # ISO
    records: list[Record]  # latest record of every application (status != superseded)
    superseded: list[Record]  # records replaced by a corrected upload during this run
    # validators.batch.quota_rows: [{"unit", "kind_zh", "center_count", "center_quota", "extra_count",
    # "platform_count", "over"}]; center_count is what counts against center_quota (experience centers that
    # are not demo-city extras); ``over`` is computed by validators.batch.quota_usage, only read here
    quota_units: list[dict] = field(default_factory=list)
    # [{"city", "province", "kind", "extras", "quota", "over"}]
    quota_cities: list[dict] = field(default_factory=list)
    previous_run_id: str | None = None
    stats: dict | None = None  # e.g. {"processed": 20, "reused": 0, "seconds": 12.3}


# ---------------------------------------------------------------------------------------------- values


def rule_info(code: str, campaign: Campaign | None = None) -> tuple[str, str | None]:
    """(Chinese title, clause) of a code from the finding catalogue, filled from the campaign; the code
    itself when it is not catalogued."""
    r = RULES.get(code)
    if r is None:
        return code, None
    return r.title_for(campaign) or code, r.clause_for(campaign)


def field_zh(key: str | None) -> str:
    if not key:
        return ""
    spec = BY_KEY.get(key)
    return spec.zh if spec is not None else key


def fmt_value(v: Any) -> str:
    """A value as a reviewer reads it: lists joined with 、, whole floats without .0, None empty."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, (list, tuple, set)):
        return "、".join(fmt_value(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def display_width(s: str) -> int:
    """Columns a string takes in a spreadsheet: CJK and other wide characters count 2."""
    if s.isascii():
        return len(s)
    return len(s.translate(_WIDTHS))  # a wide character becomes two, at C speed


class _Widths(dict):
    """For str.translate: a code point whose East Asian width is W or F -> two characters, any other
    -> itself; each looked up in unicodedata once, then remembered."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        out = self[cp] = ch * 2 if unicodedata.east_asian_width(ch) in ("W", "F") else ch
        return out


_WIDTHS = _Widths()


def unit_of(rec: Record) -> str:
    return rec.recommender_unit or rec.recommender_path or UNKNOWN_UNIT


def file_name(rec: Record) -> str:
    """The key's last path segment (as PurePosixPath names it: which would also intern every segment of
    every key, a table that grows with the batch, so only keys with ``//`` or ``.`` segments go there)."""
    key = rec.source.key
    name = key.rpartition("/")[2]
    if name and name != "." and "//" not in key and "/./" not in key and not key.startswith("./"):
        return name
    return PurePosixPath(key).name or key


def applicant_of(rec: Record) -> str:
    for k in ("applicant_name", "applicant_name_cover", "applicant_name_commitment"):
        v = rec.fields.get(k)
        if v:
            return fmt_value(v)
    return ""


def project_of(rec: Record) -> str:
    v = rec.fields.get("project_name")
    return fmt_value(v) if v else ""


def app_title(rec: Record) -> str:
    """The application's display name: applicant · project, else the file name."""
    parts = [p for p in (applicant_of(rec), project_of(rec)) if p]
    return " · ".join(parts) if parts else file_name(rec)


def direction_zh(rec: Record) -> str:
    return DIRECTION_ZH.get(rec.direction or "", "")


def waiver_text(f: Finding) -> str:
    w = f.waiver
    if w is None:
        return ""
    return f"已豁免：{w.by}，{w.at}，理由：{w.reason}"


def location_of(f: Finding) -> str:
    return f.evidence.describe_zh() if f.evidence is not None else ""


# ------------------------------------------------------------------------------------------ finding rows


@dataclass
class FindingRow:
    """One finding of one application, flattened for every report format."""

    rec: Record
    f: Finding
    resolved: bool = False  # listed in record.resolved_findings
    campaign: Campaign | None = None  # fills the catalogue's title templates

    @property
    def unit(self) -> str:
        return unit_of(self.rec)

    @property
    def change(self) -> str | None:
        return "resolved" if self.resolved else self.f.change

    @property
    def change_zh(self) -> str:
        return CHANGE_ZH.get(self.change or "", "")

    @property
    def rule_title(self) -> str:
        return rule_info(self.f.code, self.campaign)[0]

    @property
    def clause(self) -> str | None:
        return self.f.clause or rule_info(self.f.code, self.campaign)[1]

    @property
    def severity_zh(self) -> str:
        return SEVERITY_ZH.get(self.f.severity, self.f.severity)

    @property
    def field_zh(self) -> str:
        return field_zh(self.f.field)

    @property
    def value_text(self) -> str:
        return fmt_value(self.f.value)

    @property
    def location(self) -> str:
        return location_of(self.f)

    @property
    def waiver_text(self) -> str:
        return waiver_text(self.f)

    @property
    def active(self) -> bool:
        return not self.resolved and not self.f.waived

    def sort_key_flat(self, unit_order: dict[str, int] | None = None) -> tuple:
        """Flat tables: active errors, warnings, info; then waived; then resolved."""
        unit_order = unit_order or {}
        return (
            self.resolved,
            self.f.waived,
            SEVERITY_RANK.get(self.f.severity, 9),
            self.unit == UNKNOWN_UNIT,
            unit_order.get(self.unit, len(unit_order)),
            self.unit,
            applicant_of(self.rec) or file_name(self.rec),
            self.rec.application_id,
            self.f.code,
            self.f.field,
        )

    def as_dict(self) -> dict[str, Any]:
        f, rec = self.f, self.rec
        return {
            "application_id": rec.application_id,
            "status": rec.status,
            "unit": self.unit,
            "recommender_path": rec.recommender_path,
            "applicant": applicant_of(rec) or None,
            "project": project_of(rec) or None,
            "direction": rec.direction,
            "file_key": rec.source.key,
            "version": rec.source.version_id,
            "sha256": rec.source.sha256,
            "code": f.code,
            "rule": self.rule_title,
            "clause": self.clause,
            "severity": f.severity,
            "field": f.field or None,
            "field_zh": self.field_zh or None,
            "value": f.value,
            "value_text": self.value_text,
            "expected": f.expected,
            "location": self.location or None,
            "evidence": f.evidence.model_dump(mode="json", exclude_none=True) if f.evidence else None,
            "message": f.message,
            "message_en": f.message_en,
            "hint": f.hint,
            "change": self.change,
            "waived": f.waived,
            "waiver": f.waiver.model_dump(mode="json") if f.waiver else None,
        }


def sorted_findings(rec: Record, campaign: Campaign | None = None) -> list[FindingRow]:
    """One application's findings as the report lists them: errors, warnings, info (waived last within
    a severity), then the findings resolved since the previous run."""
    rows = [FindingRow(rec, f, campaign=campaign) for f in rec.findings]
    rows.sort(key=lambda r: (SEVERITY_RANK.get(r.f.severity, 9), r.f.waived, r.f.code, r.f.field))
    done = [FindingRow(rec, f, resolved=True, campaign=campaign) for f in rec.resolved_findings]
    done.sort(key=lambda r: (SEVERITY_RANK.get(r.f.severity, 9), r.f.code, r.f.field))
    return rows + done


def all_rows(records: list[Record], campaign: Campaign | None = None) -> list[FindingRow]:
    campaign = campaign or campaign_of(records)
    rows = [r for rec in records for r in sorted_findings(rec, campaign)]
    order = _official_order(campaign)
    rows.sort(key=lambda r: r.sort_key_flat(order))
    return rows


def app_sort_key(rec: Record) -> tuple:
    return (STATUS_RANK.get(rec.status, 9), applicant_of(rec) or file_name(rec), project_of(rec), rec.application_id)


def _official_order(campaign: Campaign | None) -> dict[str, int]:
    """Units in the order ministry lists use: provinces (GB order), 计划单列市, 兵团, central enterprises.
    (Built once for the same lists: sorting 10,000 rows asks for it per row.)"""
    if campaign is None:
        return {}
    r = campaign.recommenders
    lists = (r.provinces, r.plan_cities, r.corps, r.central_enterprises)
    cached = _ORDER_CACHE.get("last")
    if cached is not None and all(a is b for a, b in zip(cached[0], lists)):
        return cached[1]
    names = [*r.provinces, *r.plan_cities.keys(), *r.corps, *r.central_enterprises]
    order: dict[str, int] = {}
    for i, n in enumerate(names):
        order.setdefault(n, i)
    _ORDER_CACHE["last"] = (lists, order)
    return order


_ORDER_CACHE: dict[str, tuple[tuple, dict[str, int]]] = {}  # for the lists last asked about (by identity)


def unit_sort_key(unit: str, campaign: Campaign | None = None) -> tuple:
    """Known units in the official order, then others (demonstration cities, …) by name, unknown last."""
    order = _official_order(campaign)
    return (unit == UNKNOWN_UNIT, order.get(unit, len(order)), unit)


def campaign_of(records: list[Record]) -> Campaign | None:
    """The campaign configuration of these records, for ordering; None when it cannot be loaded."""
    if not records:
        return None
    try:
        return load_campaign(records[0].campaign)
    except Exception:
        return None


def group_by_unit(records: list[Record], campaign: Campaign | None = None) -> list[tuple[str, list[Record]]]:
    groups: dict[str, list[Record]] = {}
    for rec in records:
        groups.setdefault(unit_of(rec), []).append(rec)
    return [(u, sorted(groups[u], key=app_sort_key)) for u in sorted(groups, key=lambda u: unit_sort_key(u, campaign))]


# ----------------------------------------------------------------------------------------------- summary


@dataclass
class RuleCount:
    code: str
    title: str
    severity: str
    clause: str | None
    findings: int = 0  # active (not waived) findings
    applications: int = 0  # applications with at least one active finding of this code
    waived: int = 0


@dataclass
class UnitCount:
    unit: str
    applications: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    waived: int = 0
    superseded: int = 0


@dataclass
class Summary:
    applications: int
    by_status: dict[str, int]  # STATUS_TILES order, superseded from ReportInput.superseded
    severity: dict[str, int]  # active findings by severity
    waived: int
    by_rule: list[RuleCount]
    by_unit: list[UnitCount]
    changes: dict[str, int]  # new / persisting / resolved
    rerun: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "applications": self.applications,
            "by_status": self.by_status,
            "findings_by_severity": self.severity,
            "waived": self.waived,
            "by_rule": [vars(r).copy() for r in self.by_rule],
            "by_unit": [vars(u).copy() for u in self.by_unit],
            "changes": self.changes,
            "rerun": self.rerun,
        }


def summarize(inp: ReportInput) -> Summary:
    by_status = {s: 0 for s in STATUS_TILES}
    for rec in inp.records:
        by_status[rec.status] = by_status.get(rec.status, 0) + 1
    by_status["superseded"] = len(inp.superseded)

    sev: Counter[str] = Counter()
    waived = 0
    rules: dict[tuple[str, str], RuleCount] = {}
    units: dict[str, UnitCount] = {}
    changes = {"new": 0, "persisting": 0, "resolved": 0}
    for rec in inp.records:
        u = units.setdefault(unit_of(rec), UnitCount(unit_of(rec)))
        u.applications += 1
        u.by_status[rec.status] = u.by_status.get(rec.status, 0) + 1
        seen_codes: set[str] = set()
        for f in rec.findings:
            title, clause = rule_info(f.code, inp.campaign)
            # one row per code and severity: a downgraded warning is counted as a warning, never as its
            # code's registered error (the finding's severity is what every consumer reads)
            rc = rules.setdefault((f.code, f.severity), RuleCount(f.code, title, f.severity, f.clause or clause))
            if f.change in changes:
                changes[f.change] += 1
            if f.waived:
                waived += 1
                rc.waived += 1
                u.waived += 1
                continue
            sev[f.severity] += 1
            rc.findings += 1
            if f.code not in seen_codes:
                rc.applications += 1
                seen_codes.add(f.code)
            if f.severity == "error":
                u.errors += 1
            elif f.severity == "warning":
                u.warnings += 1
            else:
                u.infos += 1
        changes["resolved"] += len(rec.resolved_findings)
    for rec in inp.superseded:
        u = units.setdefault(unit_of(rec), UnitCount(unit_of(rec)))
        u.superseded += 1

    by_rule = sorted(
        rules.values(), key=lambda r: (SEVERITY_RANK.get(r.severity, 9), -r.findings, -r.waived, r.code)
    )
    by_unit = [units[k] for k in sorted(units, key=lambda u: unit_sort_key(u, inp.campaign))]
    rerun = bool(inp.previous_run_id) or any(
        f.change for rec in inp.records for f in rec.findings
    ) or any(rec.resolved_findings for rec in inp.records)
    return Summary(
        applications=len(inp.records),
        by_status=by_status,
        severity={s: sev.get(s, 0) for s in ("error", "warning", "info")},
        waived=waived,
        by_rule=by_rule,
        by_unit=by_unit,
        changes=changes,
        rerun=rerun,
    )


def quota_units(inp: ReportInput) -> list[dict[str, Any]]:
    """Quota rows with defaults filled in (``over`` as validators.batch.quota_usage computed it), units
    over their quota first, then in the official order."""
    out = []
    default = inp.campaign.quotas.center_per_unit
    for q in inp.quota_units:
        row = {
            "unit": q.get("unit") or UNKNOWN_UNIT,
            "kind_zh": q.get("kind_zh") or "",
            "center_count": int(q.get("center_count") or 0),
            "center_quota": _int(q.get("center_quota"), default),
            "extra_count": int(q.get("extra_count") or 0),
            "platform_count": int(q.get("platform_count") or 0),
            "over": bool(q.get("over")),
        }
        out.append(row)
    out.sort(key=lambda r: (not r["over"], unit_sort_key(r["unit"], inp.campaign)))
    return out


def quota_cities(inp: ReportInput) -> list[dict[str, Any]]:
    out = []
    default = inp.campaign.quotas.center_extra_per_demo_city
    for q in inp.quota_cities:
        row = {
            "city": q.get("city") or "",
            "province": q.get("province") or "",
            "kind": q.get("kind") or "",
            "extras": int(q.get("extras") or 0),
            "quota": _int(q.get("quota"), default),
            "over": bool(q.get("over")),
        }
        out.append(row)
    out.sort(key=lambda r: (not r["over"], r["province"], r["city"]))
    return out


def field_columns() -> list[tuple[str, str]]:
    """(key, Chinese header) of every catalogue field, headers made unique."""
    seen: set[str] = set()
    out = []
    for spec in FIELDS:
        h = spec.zh
        if h in seen:
            h = f"{h}（{spec.key}）"
        seen.add(h)
        out.append((spec.key, h))
    return out


# ------------------------------------------------------------------------------- JSON written in parts

BLOCK = 256  # elements of a long JSON array per write


def write_blocks(out: BinaryIO, parts: Iterable[bytes], first: bytes, sep: bytes) -> bool:
    """``parts`` written into ``out`` joined by ``sep`` (``first`` before the first one), ``BLOCK`` parts
    per write. Returns whether there was any."""
    block: list[bytes] = []
    lead = first
    for part in parts:
        block.append(part)
        if len(block) == BLOCK:
            out.write(lead + sep.join(block))
            lead, block = sep, []
    if block:
        out.write(lead + sep.join(block))
        lead = sep
    return lead is not first


def parts_or_whole(out: BinaryIO, write_parts: Callable[[], None], whole: Callable[[], bytes]) -> None:
    """``write_parts()`` (a JSON document written into ``out`` a part at a time by orjson); when orjson
    refuses some text (a lone surrogate), ``out`` is cut back to where it stood and ``whole()`` (the json
    module's text of the whole document: the same document) is written instead."""
    start = out.tell()
    try:
        write_parts()
    except (TypeError, orjson.JSONEncodeError):
        out.seek(start)
        out.truncate()
        out.write(whole())
