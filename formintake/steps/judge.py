"""Judge: the batch rules over every application's current record, reviewers' waivers, each record's
status, and the quota use the report shows (computed from the same views the rules used)."""

from __future__ import annotations

from dataclasses import dataclass

from formintake.config import Campaign
from formintake.models import Record, Waiver
from formintake.validators.batch import BatchContext, quota_rows, quota_usage, run_batch_rules
from formintake.waivers import apply_waivers


@dataclass
class Judgement:
    quota_units: list[dict]  # validators.batch.quota_rows
    quota_cities: list[dict]


def judge(current: list[Record], campaign: Campaign, waivers: list[Waiver]) -> Judgement:
    """Add the batch findings to ``current`` (in place), apply ``waivers`` and set each status."""
    ctx = BatchContext(campaign=campaign)
    batch = run_batch_rules(current, campaign, ctx)
    for r in current:
        r.findings = r.findings + batch.get(r.application_id, [])
    apply_waivers(current, waivers, campaign)  # sets every record's status (formintake.status)
    units, cities = quota_rows(quota_usage(current, campaign, ctx))
    return Judgement(units, cities)
