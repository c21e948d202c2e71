"""What an extraction worker does with one document: extract it, run the per-application rules, build its
record (:func:`check_document`). Kept apart from :mod:`formintake.pipeline` (plan, state, link, judge,
publish) so the workers' fork server imports only this, the extractors and the rules, not the reports and
the steps: a fresh process (a deployment's flow run) starts its workers sooner.
"""

from __future__ import annotations

import logging

from formintake import __version__, extractors
from formintake.clock import now_iso
from formintake.config import Campaign
from formintake.extractors.isolated import Split, in_worker, isolation_enabled, read_in_parts, shared_extractor
from formintake.models import ExtractedForm, Finding, Record, SourceInfo
from formintake.status import compute_status
from formintake.validators.recommenders import recommending
from formintake.validators.registry import RuleContext, run_application_rules

__all__ = ["application_findings", "build_record", "check_document", "extract_and_check"]

log = logging.getLogger("formintake")


def extract_and_check(data: bytes, filename: str, campaign: Campaign, *, recommender_path: str | None = None,
                      uploaded_at: str | None = None) -> tuple[ExtractedForm, list[Finding]]:
    """Extract one file and run every per-application rule. Never raises for bad input."""
    # in a worker process with a hard time limit (FILE_TIMEOUT), unless FORMINTAKE_ISOLATE=0
    limits = dict(size_limit_bytes=campaign.thresholds.file_size_limit_bytes,
                  timeout_s=campaign.thresholds.doc_timeout_s)
    if isolation_enabled():  # a scan's pages: one OCR task a page, on every worker, each with its limit
        form = shared_extractor().extract(data, filename, ocr_page_timeout_s=campaign.thresholds.ocr_page_timeout_s,
                                          **limits)
    else:
        form = extractors.extract(data, filename, **limits)
    if form.internal_traceback:
        log.error("extractor failed on %s (INTERNAL_ERROR):\n%s", filename, form.internal_traceback)
        form.internal_traceback = None
    return form, application_findings(form, campaign, recommender_path, uploaded_at)


def application_findings(form: ExtractedForm, campaign: Campaign, recommender_path: str | None,
                         uploaded_at: str | None) -> list[Finding]:
    """The form's intake findings, then (if it was read) every per-application rule's."""
    findings = list(form.intake_findings)
    if form.readable:
        ctx = RuleContext(campaign=campaign, recommender_path=recommender_path, uploaded_at=uploaded_at)
        findings.extend(run_application_rules(form, ctx))
    return findings


def check_document(data: bytes, filename: str, campaign: Campaign, source: SourceInfo) -> tuple[Record, str | None] | Split:
    """Extract one file, run the per-application rules, build its record: what an extraction worker does
    for one document. Returns the record and the extractor's traceback if it failed (our bug: the
    caller logs it). Never raises for bad input. In a pool worker, a file with scanned pages returns a
    Split instead: its pages are OCR'd one per task on every worker (each within the campaign's
    ``ocr_page_timeout_s``), then :func:`_checked` checks the form put together from them."""
    th = campaign.thresholds
    return read_in_parts(data, filename, th.file_size_limit_bytes, th.doc_timeout_s, th.ocr_page_timeout_s,
                         then=_checked, then_args=(campaign, source), defer_ocr=in_worker())


def _checked(form: ExtractedForm, campaign: Campaign, source: SourceInfo) -> tuple[Record, str | None]:
    if form.ocr_pages:
        log.info("OCR of %s: %s", form.source, form.ocr_pages)
    tb, form.internal_traceback = form.internal_traceback, None
    return build_record(form, application_findings(form, campaign, source.recommender_path, source.uploaded_at), source, campaign), tb


def build_record(form: ExtractedForm, findings: list[Finding], source: SourceInfo, campaign: Campaign) -> Record:
    unit = recommending(source.recommender_path, form.value("recommender"), campaign).filing
    return Record(
        application_id="",
        campaign=campaign.id,
        direction=form.direction,
        status=compute_status(findings),
        recommender_path=source.recommender_path,
        recommender_unit=unit.key if unit else None,
        fields={k: fv.value for k, fv in form.fields.items() if fv.state == "ok"},
        field_states={k: fv.state for k, fv in form.fields.items()},
        raw={k: fv.raw for k, fv in form.fields.items()},
        evidence={k: fv.evidence for k, fv in form.fields.items()},
        findings=findings,
        source=source,
        file_type=form.file_type,
        pipeline_version=__version__,
        processed_at=now_iso(),
    )
