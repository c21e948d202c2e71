"""Batch rules: checks across every latest application of one campaign (rules.md, *Across the batch*).

The caller passes the latest, non-superseded record of every application (corrections are already folded
into supersession); records that were ``unreadable`` carry no fields and take part only where their
folder or upload time is enough. A batch rule is ``(records, ctx) -> Iterable[(application_id, Finding)]``.

Which unit an application belongs to (its *filing unit*) is the unit of the folder it was filed under,
else ``Record.recommender_unit``, else the unit written in the form: the folder is who submitted it.
An experience-center application is a demonstration city's *extra* (四（二）) when its 示范城市额外推荐
cell names a city, or else when it was stamped or filed by a demonstration city's department.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from formintake.config import Campaign, DemoCity
from formintake.identity import group_by, same_project_clusters
from formintake.findings import make_finding
from formintake.models import Finding, Record
from formintake.validators.recommenders import Unit, recommending, resolve_recommender
from formintake.validators.registry import RULES, RuleContext, rule
from formintake.text import fold


@dataclass
class View:
    """What the batch rules need to know about one record, computed once."""

    record: Record
    written_text: str | None  # 推荐单位 as written in the form
    written: Unit | None  # ... resolved
    folder: Unit | None  # the unit of the folder it was filed under
    filing: Unit | None  # the unit it counts under (see module docstring)
    extra_claim: str | None  # the demonstration city it claims to be an extra of (experience centers only)
    extra_from_cell: bool  # the claim comes from the 示范城市额外推荐 cell (not from the unit)
    extra_city: DemoCity | None  # the claim, when the city is in the campaign's list

    @property
    def app_id(self) -> str:
        return self.record.application_id

    @property
    def is_center(self) -> bool:
        return self.record.direction == "experience_center"

    @property
    def counts_in_unit_quota(self) -> bool:
        """An experience center that is not a (valid) demonstration-city extra."""
        return self.is_center and self.extra_city is None and self.filing is not None


def _text(v: Any) -> str | None:
    t = fold(str(v)) if v is not None else ""
    return t or None


def _no_demo_city(campaign: Campaign) -> frozenset[str]:
    """The folded 示范城市额外推荐 values that mean "none" (folded once per campaign object, not per record)."""
    values = campaign.recommenders.no_demo_city_values
    last = _NO_DEMO_CITY.get("last")
    if last is None or last[0] is not values:  # the list itself: a campaign given another list is asked anew
        last = _NO_DEMO_CITY["last"] = (values, frozenset(fold(v) for v in values))
    return last[1]


_NO_DEMO_CITY: dict[str, tuple[list[str], frozenset[str]]] = {}


def view_of(record: Record, campaign: Campaign) -> View:
    written_text = _text(record.fields.get("recommender"))
    units = recommending(record.recommender_path, written_text, campaign)
    written = units.written
    # the unit stored at extraction (Record.recommender_unit) between the folder's and the form's
    filing = units.folder or resolve_recommender(record.recommender_unit, campaign) or written
    cell = _text(record.fields.get("demo_city"))
    if cell in _no_demo_city(campaign):
        cell = None
    claim, from_cell = None, False
    if record.direction == "experience_center":
        if cell is not None:
            claim, from_cell = cell, True
        else:
            claim = next((u.key for u in (written, filing) if u is not None and u.kind == "demo_city"), None)
    return View(
        record=record,
        written_text=written_text,
        written=written,
        folder=units.folder,
        filing=filing,
        extra_claim=claim,
        extra_from_cell=from_cell,
        extra_city=campaign.demo_city(claim),
    )


@dataclass
class BatchContext(RuleContext):
    """What a batch rule may know: the campaign (and the records' views, computed once per run)."""

    views: dict[int, View] = field(default_factory=dict)

    def view(self, record: Record) -> View:
        v = self.views.get(id(record))
        if v is None or v.record is not record:
            v = self.views[id(record)] = view_of(record, self.campaign)
        return v


# --------------------------------------------------------------------------- helpers


def _rank(record: Record) -> int | None:
    r = record.fields.get("recommend_rank")
    return r if isinstance(r, int) and not isinstance(r, bool) and r >= 1 else None


def beyond_quota(records: list[Record], quota: int) -> list[Record]:
    """The records of one group that do not fit in ``quota``, by 推荐排序.

    A record fits when at most ``quota`` records of the group rank at or before it. A record without a
    rank ranks after every ranked one. So: without any ranks, all are beyond; records tied across the
    boundary are all beyond (which of them is the unit's choice cannot be told); a group within quota
    has none beyond.
    """
    if len(records) <= quota:
        return []
    order = [_rank(r) or math.inf for r in records]
    ranked = sorted(order)  # how many rank at or before o: one bisection, not a pass over the group
    return [r for r, o in zip(records, order) if bisect.bisect_right(ranked, o) > quota]


def _rank_zh(record: Record, ctx: BatchContext) -> str:
    r = _rank(record)
    return ctx.text("QUOTA_EXCEEDED", "rank", rank=r) if r is not None else ctx.text("QUOTA_EXCEEDED", "no_rank")


def _unit_label(v: View, ctx: BatchContext) -> str:
    return v.filing.key if v.filing else v.record.recommender_path or ctx.text("DUPLICATE_APPLICATION", "unknown_unit")


def _parse_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v)[:10])
    except (TypeError, ValueError):
        return None


def _parse_ts(v: str | None) -> dt.datetime | None:
    if not v:
        return None
    try:
        ts = dt.datetime.fromisoformat(v)
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)  # SourceInfo.uploaded_at is UTC


# --------------------------------------------------------------------------- rules


@rule("RECOMMENDER_UNKNOWN")
def check_recommender_unknown(records: list[Record], ctx: BatchContext) -> Iterator[tuple[str, Finding]]:
    """The folder and the unit written in the form must each be a recommending unit; a demonstration city's
    department recommends only experience-center extras. At most one finding per field: ``recommender``
    for the form, empty for the folder (including an upload filed under no unit's folder at all)."""
    for r in records:
        v = ctx.view(r)
        path = (r.recommender_path or "").strip()
        city = next((u for u in (v.written, v.filing) if u is not None and u.kind == "demo_city"), None)
        if path and v.folder is None:
            yield r.application_id, ctx.finding(
                "RECOMMENDER_UNKNOWN",
                value=path,
                expected=ctx.text("RECOMMENDER_UNKNOWN", "folder.expected"),
                message=ctx.text("RECOMMENDER_UNKNOWN", "folder.message", path=path),
                message_en=ctx.text("RECOMMENDER_UNKNOWN", "folder.message_en", path=path),
                hint=ctx.text("RECOMMENDER_UNKNOWN", "folder.hint"),
            )
        elif not path and v.written is None and r.status != "unreadable":
            yield r.application_id, ctx.finding(
                "RECOMMENDER_UNKNOWN",
                value=None,
                expected=ctx.text("RECOMMENDER_UNKNOWN", "no_folder.expected"),
                message=ctx.text("RECOMMENDER_UNKNOWN", "no_folder.message"),
                message_en=ctx.text("RECOMMENDER_UNKNOWN", "no_folder.message_en"),
                hint=ctx.text("RECOMMENDER_UNKNOWN", "no_folder.hint"),
            )
        if v.written_text and v.written is None:
            yield r.application_id, ctx.finding(
                "RECOMMENDER_UNKNOWN",
                field="recommender",
                value=v.written_text,
                expected=ctx.text("RECOMMENDER_UNKNOWN", "written.expected"),
                message=ctx.text("RECOMMENDER_UNKNOWN", "written.message", written=v.written_text),
                message_en=ctx.text("RECOMMENDER_UNKNOWN", "written.message_en", written=v.written_text),
                hint=ctx.text("RECOMMENDER_UNKNOWN", "written.hint"),
                evidence=r.evidence.get("recommender"),
            )
        elif r.direction == "platform" and city is not None:
            yield r.application_id, ctx.finding(
                "RECOMMENDER_UNKNOWN",
                field="recommender",
                value=v.written_text or r.recommender_path,
                expected=ctx.text("RECOMMENDER_UNKNOWN", "city_platform.expected"),
                message=ctx.text("RECOMMENDER_UNKNOWN", "city_platform.message", city=city.key),
                message_en=ctx.text("RECOMMENDER_UNKNOWN", "city_platform.message_en"),
                hint=ctx.text("RECOMMENDER_UNKNOWN", "city_platform.hint"),
                evidence=r.evidence.get("recommender"),
            )


@rule("QUOTA_EXCEEDED")
def check_quota(records: list[Record], ctx: BatchContext) -> Iterator[tuple[str, Finding]]:
    """More than ``quotas.center_per_unit`` experience centers of one filing unit (extras not counted):
    flag those beyond the quota by 推荐排序 (see :func:`beyond_quota`)."""
    quota = ctx.campaign.quotas.center_per_unit
    views = [ctx.view(r) for r in records]
    for unit, group in group_by(views, lambda v: v.filing.key if v.counts_in_unit_quota else None).items():
        for r in beyond_quota([v.record for v in group], quota):
            yield r.application_id, ctx.finding(
                "QUOTA_EXCEEDED",
                field="recommend_rank",
                value=_rank(r),
                expected=ctx.text("QUOTA_EXCEEDED", "expected"),
                message=ctx.text("QUOTA_EXCEEDED", "message", unit=unit, count=len(group), rank=_rank_zh(r, ctx)),
                message_en=ctx.text("QUOTA_EXCEEDED", "message_en", unit=unit, count=len(group)),
                hint=ctx.text("QUOTA_EXCEEDED", "hint"),
                evidence=r.evidence.get("recommend_rank"),
            )


@rule("CITY_EXTRA_QUOTA_EXCEEDED")
def check_city_extra_quota(records: list[Record], ctx: BatchContext) -> Iterator[tuple[str, Finding]]:
    """More than ``quotas.center_extra_per_demo_city`` extras of one demonstration city, whoever filed them:
    flag those beyond by 推荐排序, as for QUOTA_EXCEEDED."""
    quota = ctx.campaign.quotas.center_extra_per_demo_city
    views = [ctx.view(r) for r in records]
    for city, group in group_by(views, lambda v: v.extra_city.city if v.extra_city and v.is_center else None).items():
        for r in beyond_quota([v.record for v in group], quota):
            yield r.application_id, ctx.finding(
                "CITY_EXTRA_QUOTA_EXCEEDED",
                field="demo_city",
                value=city,
                expected=ctx.text("CITY_EXTRA_QUOTA_EXCEEDED", "expected"),
                message=ctx.text("CITY_EXTRA_QUOTA_EXCEEDED", "message", city=city, count=len(group),
                                 rank=_rank_zh(r, ctx)),
                message_en=ctx.text("CITY_EXTRA_QUOTA_EXCEEDED", "message_en", city=city, count=len(group)),
                hint=ctx.text("CITY_EXTRA_QUOTA_EXCEEDED", "hint"),
                evidence=r.evidence.get("demo_city"),
            )


@rule("CITY_EXTRA_NOT_DEMO_CITY")
def check_extra_not_demo_city(records: list[Record], ctx: BatchContext) -> Iterator[tuple[str, Finding]]:
    """An experience center's 示范城市额外推荐 cell names a city not in the campaign's list (附件1). Such an
    application counts against its unit's own quota instead."""
    for r in records:
        v = ctx.view(r)
        if v.extra_from_cell and v.extra_city is None:
            yield r.application_id, ctx.finding(
                "CITY_EXTRA_NOT_DEMO_CITY",
                field="demo_city",
                value=v.extra_claim,
                expected=ctx.text("CITY_EXTRA_NOT_DEMO_CITY", "expected"),
                message=ctx.text("CITY_EXTRA_NOT_DEMO_CITY", "message", claim=v.extra_claim),
                message_en=ctx.text("CITY_EXTRA_NOT_DEMO_CITY", "message_en", claim=v.extra_claim),
                hint=ctx.text("CITY_EXTRA_NOT_DEMO_CITY", "hint"),
                evidence=r.evidence.get("demo_city"),
            )


@rule("CITY_EXTRA_NOT_VIA_PROVINCE")
def check_extra_via_province(records: list[Record], ctx: BatchContext) -> Iterator[tuple[str, Finding]]:
    """An extra of a demonstration city that is neither 直辖市 nor 计划单列市 must be filed by its province."""
    for r in records:
        v = ctx.view(r)
        dc, unit = v.extra_city, v.filing
        if not v.is_center or dc is None or dc.files_itself or unit is None:
            continue
        if unit.kind == "province" and unit.region == dc.province:
            continue
        where = dict(city=dc.city, province=dc.province, unit=unit.key)
        yield r.application_id, ctx.finding(
            "CITY_EXTRA_NOT_VIA_PROVINCE",
            field="demo_city",
            value=dc.city,
            expected=ctx.text("CITY_EXTRA_NOT_VIA_PROVINCE", "expected", **where),
            message=ctx.text("CITY_EXTRA_NOT_VIA_PROVINCE", "self.message" if unit.key == dc.city else "other.message",
                             **where),
            message_en=ctx.text("CITY_EXTRA_NOT_VIA_PROVINCE", "message_en", **where),
            hint=ctx.text("CITY_EXTRA_NOT_VIA_PROVINCE", "hint", **where),
            evidence=r.evidence.get("demo_city"),
        )


@rule("PLATFORM_QUOTA_NONE")
def note_platform_no_quota(records: list[Record], ctx: BatchContext) -> Iterator[tuple[str, Finding]]:
    """Never an error. Where a unit files more platform applications than ``quotas.platform_note_above``
    (the experience-center quota, which a reader might assume applies), each of them gets this note."""
    above = ctx.campaign.quotas.platform_note_above
    views = [ctx.view(r) for r in records]
    platforms = group_by(views, lambda v: v.filing.key if v.record.direction == "platform" and v.filing else None)
    for unit, group in platforms.items():
        if len(group) <= above:
            continue
        for v in group:
            yield v.app_id, ctx.finding(
                "PLATFORM_QUOTA_NONE",
                value=len(group),
                expected=ctx.text("PLATFORM_QUOTA_NONE", "expected"),
                message=ctx.text("PLATFORM_QUOTA_NONE", "message", unit=unit, count=len(group)),
                message_en=ctx.text("PLATFORM_QUOTA_NONE", "message_en", unit=unit, count=len(group)),
            )


@rule("DUPLICATE_APPLICATION")
def check_duplicates(records: list[Record], ctx: BatchContext) -> Iterator[tuple[str, Finding]]:
    """Same USCC, same direction, and the same or a near-same project name (difflib ratio of the
    ``name_key``s at least ``thresholds.near_same_name_ratio``). Groups are closed transitively; every
    member is flagged, naming the others. Records without a USCC, direction or name are not compared."""
    for cluster in same_project_clusters(records, ctx.campaign.thresholds.near_same_name_ratio):
        for r in cluster:
            others = [o for o in cluster if o is not r]
            where = "；".join(
                ctx.text("DUPLICATE_APPLICATION", "other", app_id=o.application_id, unit=_unit_label(ctx.view(o), ctx),
                         key=o.source.key, project_name=o.fields.get("project_name"))
                for o in others
            )
            yield r.application_id, ctx.finding(
                "DUPLICATE_APPLICATION",
                field="project_name",
                value=r.fields.get("project_name"),
                expected=ctx.text("DUPLICATE_APPLICATION", "expected"),
                message=ctx.text("DUPLICATE_APPLICATION", "message", uscc=r.fields.get("uscc"), others=where),
                message_en=ctx.text("DUPLICATE_APPLICATION", "message_en",
                                    others=", ".join(o.application_id for o in others)),
                hint=ctx.text("DUPLICATE_APPLICATION", "hint"),
                evidence=r.evidence.get("project_name"),
            )


@rule("LATE_SUBMISSION")
def check_late(records: list[Record], ctx: BatchContext) -> Iterator[tuple[str, Finding]]:
    """推荐日期 after the deadline (field ``recommender_date``); where ``campaign.check_upload_time``, also the
    upload time after the deadline's end of day in the campaign's time zone (field empty)."""
    camp = ctx.campaign
    deadline = camp.deadline
    for r in records:
        d = _parse_date(r.fields.get("recommender_date"))
        if d is not None and d > deadline:
            yield r.application_id, ctx.finding(
                "LATE_SUBMISSION",
                field="recommender_date",
                value=d.isoformat(),
                expected=ctx.text("LATE_SUBMISSION", "date.expected"),
                message=ctx.text("LATE_SUBMISSION", "date.message", date=d.isoformat()),
                message_en=ctx.text("LATE_SUBMISSION", "date.message_en", date=d.isoformat()),
                hint=ctx.text("LATE_SUBMISSION", "date.hint"),
                evidence=r.evidence.get("recommender_date"),
            )
        ts = _parse_ts(r.source.uploaded_at) if camp.check_upload_time else None
        if ts is not None:
            local = ts.astimezone(ZoneInfo(camp.timezone))
            if local.date() > deadline:
                yield r.application_id, ctx.finding(
                    "LATE_SUBMISSION",
                    value=local.isoformat(timespec="seconds"),
                    expected=ctx.text("LATE_SUBMISSION", "upload.expected"),
                    message=ctx.text("LATE_SUBMISSION", "upload.message", local=f"{local:%Y-%m-%d %H:%M}"),
                    message_en=ctx.text("LATE_SUBMISSION", "upload.message_en",
                                        local_iso=local.isoformat(timespec="seconds")),
                    hint=ctx.text("LATE_SUBMISSION", "upload.hint"),
                )


# --------------------------------------------------------------------------- entry points


def run_batch_rules(records: list[Record], campaign: Campaign,
                    ctx: BatchContext | None = None) -> dict[str, list[Finding]]:
    """Every batch rule over the latest records; findings per application id (every id present).
    Pass a ``ctx`` to keep the records' views (resolved units) for :func:`quota_usage`."""
    current = [r for r in records if r.status != "superseded"]
    ctx = ctx or BatchContext(campaign=campaign)
    out: dict[str, list[Finding]] = {r.application_id: [] for r in current}
    for r in RULES.values():
        if r.scope == "batch" and r.func is not None:
            try:
                found = list(r.func(current, ctx))
            except Exception as exc:  # our bug: the run goes on, every application says the check did not run
                logging.getLogger("formintake").exception("batch rule %s failed", r.code)
                found = [(a.application_id, make_finding(
                    "INTERNAL_ERROR", campaign, severity="warning",
                    message=ctx.text("INTERNAL_ERROR", "batch.message", title=r.title_for(campaign)),
                    message_en=ctx.text("INTERNAL_ERROR", "batch.message_en", code=r.code,
                                        error=f"{type(exc).__name__}: {exc}")[:300]))
                    for a in current]
            for app_id, finding in found:
                out.setdefault(app_id, []).append(finding)
    return out


def quota_usage(records: list[Record], campaign: Campaign,
                ctx: BatchContext | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Quota use for the report's summary.

    ``units``: per filing unit, ``center_count`` (experience centers counted against ``center_quota``),
    ``extra_count`` (demonstration-city extras it filed), ``platform_count`` (no quota), ``over``.
    ``cities``: per demonstration city with at least one extra, ``extras`` against ``quota``, ``over``.
    Applications whose unit is unknown are left out (they carry RECOMMENDER_UNKNOWN).
    ``over`` is computed here and only here; reports read it.
    """
    ctx = ctx or BatchContext(campaign=campaign)
    q = campaign.quotas
    units: dict[str, dict[str, Any]] = {}
    cities: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.status == "superseded":
            continue
        v = ctx.view(r)
        if v.filing is not None and r.direction is not None:
            u = units.setdefault(
                v.filing.key,
                {"kind": v.filing.kind, "kind_zh": v.filing.zh_kind, "center_count": 0,
                 "center_quota": q.center_per_unit, "extra_count": 0, "platform_count": 0},
            )
            if r.direction == "platform":
                u["platform_count"] += 1
            elif v.counts_in_unit_quota:
                u["center_count"] += 1
            elif v.extra_city is not None:
                u["extra_count"] += 1
        if v.is_center and v.extra_city is not None:
            dc = v.extra_city
            c = cities.setdefault(
                dc.city,
                {"province": dc.province, "kind": dc.kind, "files_itself": dc.files_itself, "extras": 0,
                 "quota": q.center_extra_per_demo_city},
            )
            c["extras"] += 1
    for u in units.values():
        u["over"] = u["center_count"] > u["center_quota"]
    for c in cities.values():
        c["over"] = c["extras"] > c["quota"]
    return {"units": dict(sorted(units.items())), "cities": dict(sorted(cities.items()))}


def quota_rows(usage: dict[str, dict[str, dict[str, Any]]]) -> tuple[list[dict], list[dict]]:
    """:func:`quota_usage` as the report's rows: ``[{"unit": …, **counts}]``, ``[{"city": …, **counts}]``."""
    return ([{"unit": k, **v} for k, v in usage["units"].items()],
            [{"city": k, **v} for k, v in usage["cities"].items()])
