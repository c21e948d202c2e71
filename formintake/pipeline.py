"""The pipeline's work, as plain functions: the Prefect flow and `formintake check` both call these.

One run over a campaign:

1. ``plan_run``      list every object version under the campaign; split into *new* (never processed,
                     or ``full``) and *known* (a stored version record with the same ETag exists).
2. ``process_version`` read one version, extract, run the per-application rules -> a version record,
                     stored at once under ``state/<campaign>/versions/`` (a run that dies halfway keeps
                     what it finished; the next run picks up the rest).
3. ``finish_run``    link versions into applications (corrections supersede), run the batch rules over
                     the latest upload of every application, apply waivers, mark findings new /
                     persisting / resolved against the previous run, write records and reports under
                     the run's own prefix, and switch ``latest/`` last.

Every object version ends in exactly one record; nothing here modifies an upload.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from formintake import extractors
from formintake import validators
from formintake import __version__
from formintake.config import Campaign
from formintake.models import ExtractedForm, Finding, Record, SourceInfo
from formintake.storage.base import ObjectStore, ObjectVersion
from formintake.validators.registry import RuleContext, run_application_rules
from formintake.validators.text import name_key

log = logging.getLogger("formintake")

SUPPORTED_SUFFIXES = (".docx", ".pdf")


# --------------------------------------------------------------------------- keys and ids


def version_id_of(v: ObjectVersion) -> str:
    """A stable id for one object version (file-safe)."""
    basis = f"{v.key}\x00{v.version_id or ''}\x00{v.etag or ''}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:20]


def recommender_of_key(key: str, uploads_prefix: str) -> str | None:
    """``2023/江苏省/x.docx`` -> ``江苏省`` (the folder the upload was filed under)."""
    rel = key[len(uploads_prefix):] if key.startswith(uploads_prefix) else key
    parts = PurePosixPath(rel).parts
    return parts[0] if len(parts) >= 2 else None


def application_id_for(campaign: str, first_key: str) -> str:
    """Stable across corrections: derived from the first upload of the application's chain."""
    return f"{campaign}-{hashlib.sha1(first_key.encode('utf-8')).hexdigest()[:10]}"


def now_iso(precise: bool = False) -> str:
    t = dt.datetime.now(dt.timezone.utc)
    return (t if precise else t.replace(microsecond=0)).isoformat()


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")[:-4] + "Z"


# --------------------------------------------------------------------------- layout of results


@dataclass(frozen=True)
class Layout:
    """Where a campaign's results live (outputs.md)."""

    campaign: str

    def version_record(self, vid: str) -> str:
        return f"state/{self.campaign}/versions/{vid}.json"

    @property
    def versions_prefix(self) -> str:
        return f"state/{self.campaign}/versions/"

    @property
    def runs(self) -> str:
        return f"state/{self.campaign}/runs.json"

    def findings_snapshot(self, run_id: str) -> str:
        return f"state/{self.campaign}/findings/{run_id}.json"

    @property
    def waivers(self) -> str:
        return f"state/{self.campaign}/waivers.json"

    def record(self, application_id: str) -> str:
        return f"records/{self.campaign}/{application_id}.json"

    def records_file(self, name: str) -> str:
        return f"records/{self.campaign}/{name}"

    def report(self, run_id: str, name: str) -> str:
        return f"reports/{self.campaign}/{run_id}/{name}"

    def latest(self, name: str) -> str:
        return f"reports/{self.campaign}/latest/{name}"


# --------------------------------------------------------------------------- step 1: plan


@dataclass
class Plan:
    campaign: str
    uploads_prefix: str
    versions: list[ObjectVersion]  # every version under the campaign, oldest first
    new: list[ObjectVersion]  # to extract in this run
    known: dict[str, dict]  # vid -> stored version record (JSON) for the rest
    # versions seen by an earlier run that the store no longer lists although their key is still there
    # (a file overwritten in a local folder: no version history). They stay in the history as superseded.
    earlier: dict[str, dict] = field(default_factory=dict)


def plan_run(uploads: ObjectStore, results: ObjectStore, campaign: Campaign, *, uploads_prefix: str, full: bool) -> Plan:
    layout = Layout(campaign.id)
    # stable sort: versions of one key keep the store's oldest-first order when their times tie
    versions = sorted(uploads.list_versions(uploads_prefix), key=lambda v: (v.last_modified, v.key))
    stored = {PurePosixPath(k).stem: k for k in results.list_keys(layout.versions_prefix)}
    new: list[ObjectVersion] = []
    known: dict[str, dict] = {}
    for v in versions:
        vid = version_id_of(v)
        if not full and vid in stored:
            try:
                rec = json.loads(results.get(stored[vid]))
            except Exception:  # an unreadable state file is re-done, not trusted
                new.append(v)
                continue
            if rec.get("record", {}).get("source", {}).get("etag") == v.etag:
                known[vid] = rec
                continue
        new.append(v)
    current = {version_id_of(v) for v in versions}
    keys = {v.key for v in versions}
    earlier: dict[str, dict] = {}
    for vid in sorted(set(stored) - current):
        try:
            doc = json.loads(results.get(stored[vid]))
        except Exception:
            continue
        if doc.get("record", {}).get("source", {}).get("key") in keys:
            earlier[vid] = doc
    return Plan(campaign.id, uploads_prefix, versions, new, known, earlier)


# --------------------------------------------------------------------------- step 2: process one version


def extract_and_check(data: bytes, filename: str, campaign: Campaign, *, recommender_path: str | None = None,
                      uploaded_at: str | None = None) -> tuple[ExtractedForm, list[Finding]]:
    """Extract one file and run every per-application rule. Never raises for bad input."""
    from formintake.extractors.isolated import isolation_enabled, shared_extractor

    # in a worker process with a hard time limit (FILE_TIMEOUT), unless FORMINTAKE_ISOLATE=0
    extract = shared_extractor().extract if isolation_enabled() else extractors.extract
    form = extract(
        data,
        filename,
        size_limit_bytes=int(campaign.thresholds.file_size_limit_mb * 2**20),
        timeout_s=campaign.thresholds.doc_timeout_s,
    )
    findings = list(form.intake_findings)
    if form.readable:
        ctx = RuleContext(campaign=campaign, recommender_path=recommender_path, uploaded_at=uploaded_at)
        findings.extend(run_application_rules(form, ctx))
    return form, findings


def build_record(form: ExtractedForm, findings: list[Finding], source: SourceInfo, campaign: Campaign) -> Record:
    from formintake.status import compute_status
    from formintake.validators.recommenders import resolve_recommender

    written = form.value("recommender")
    unit = resolve_recommender(source.recommender_path, campaign) or resolve_recommender(written, campaign)
    return Record(
        application_id="",
        campaign=campaign.id,
        direction=form.direction,
        status=compute_status(findings, readable=form.readable),
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


def process_version(uploads: ObjectStore, results: ObjectStore, v: ObjectVersion, campaign: Campaign, *,
                    uploads_prefix: str, run_id: str, previous: dict | None = None,
                    bucket: str | None = None, same_content: dict[tuple[str, str], dict] | None = None) -> dict:
    """Read, extract and check one object version; store its version record; return it (JSON dict).

    ``same_content`` maps (key, sha256) to an already processed version: a new version of a key whose
    bytes are identical to an earlier one (a re-upload of the same file) reuses that extraction.
    """
    layout = Layout(campaign.id)
    vid = version_id_of(v)
    started = time.perf_counter()
    source = SourceInfo(
        bucket=bucket, key=v.key, version_id=v.version_id, etag=v.etag, size=v.size,
        uploaded_at=v.last_modified, recommender_path=recommender_of_key(v.key, uploads_prefix),
    )
    data = uploads.get(v.key, v.version_id)
    source.sha256 = hashlib.sha256(data).hexdigest()
    twin = (same_content or {}).get((v.key, source.sha256))
    if twin is not None:
        record = Record.model_validate(twin["record"])
        record.source = source
        reused_from = twin["vid"]
    else:
        form, findings = extract_and_check(data, PurePosixPath(v.key).name, campaign,
                                           recommender_path=source.recommender_path, uploaded_at=v.last_modified)
        record = build_record(form, findings, source, campaign)
        reused_from = None
    doc = {
        "vid": vid,
        # a --full re-run keeps when the version was first taken in: corrections are judged by it
        "first_seen_run": (previous or {}).get("first_seen_run") or run_id,
        "processed_run": run_id,
        "extract_ms": round((time.perf_counter() - started) * 1000, 1),
        "same_content_as": reused_from,
        "record": record.model_dump(mode="json"),
    }
    results.put(layout.version_record(vid), dumps(doc), "application/json")
    return doc


def same_content_index(docs: Iterable[dict]) -> dict[tuple[str, str], dict]:
    """(key, sha256) -> version doc, for reusing the extraction of a re-uploaded identical file."""
    out = {}
    for d in docs:
        src = d["record"]["source"]
        if src.get("sha256"):
            out.setdefault((src["key"], src["sha256"]), d)
    return out


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


# --------------------------------------------------------------------------- step 3: link, batch rules, publish


@dataclass
class Chain:
    application_id: str
    versions: list[dict]  # version docs, oldest first; the last is the current one

    @property
    def current(self) -> dict:
        return self.versions[-1]


def _identity(doc: dict) -> tuple[str, str, str] | None:
    rec = doc["record"]
    f = rec.get("fields", {})
    uscc, direction, name = f.get("uscc"), rec.get("direction"), f.get("project_name")
    if not (uscc and direction and name):
        return None
    return (str(uscc).upper(), direction, name_key(name))


def _near_same(a: str, b: str, ratio: float) -> bool:
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= ratio


def link_versions(docs: list[dict], campaign: Campaign) -> list[Chain]:
    """Group version docs (given oldest first, as the plan lists them) into applications.

    A later version of the same key continues its chain. A new key under the same recommender with the
    same USCC, direction and (near-)same project name continues that chain only if it was taken in by a
    later run than the chain's last upload (a correction after the earlier one was processed); two such
    keys first seen in the same run are two filings of one project (DUPLICATE_APPLICATION).
    """
    ratio = campaign.thresholds.near_same_name_ratio
    chains: list[Chain] = []
    by_key: dict[str, Chain] = {}
    for d in docs:
        src = d["record"]["source"]
        chain = by_key.get(src["key"])
        if chain is None:
            ident = _identity(d)
            if ident is not None:
                for c in chains:
                    cur = c.current
                    cid = _identity(cur)
                    if (cid and cid[0] == ident[0] and cid[1] == ident[1] and _near_same(cid[2], ident[2], ratio)
                            and cur["record"]["source"].get("recommender_path") == src.get("recommender_path")
                            and cur["first_seen_run"] < d["first_seen_run"]):
                        chain = c
                        break
        if chain is None:
            chain = Chain(application_id_for(campaign.id, src["key"]), [])
            chains.append(chain)
        chain.versions.append(d)
        by_key[src["key"]] = chain
    return chains


@dataclass
class RunResult:
    run_id: str
    records: list[Record]  # current record of every application
    superseded: list[Record]
    processed: int
    reused: int
    report_keys: dict[str, str]
    baseline_run_id: str | None
    counts: dict[str, int]
    new_findings: int
    resolved_findings: int
    quota_units: list[dict]
    quota_cities: list[dict]


def _load_json(store: ObjectStore, key: str, default: Any) -> Any:
    try:
        return json.loads(store.get(key))
    except KeyError:
        return default


def finish_run(uploads: ObjectStore, results: ObjectStore, campaign: Campaign, plan: Plan, docs: dict[str, dict], *,
               run_id: str, processed: int, started: float, bucket: str | None = None,
               write_reports: bool = True, started_at: str | None = None) -> RunResult:
    """Link, run the batch rules, write records and reports, then switch ``latest/``."""
    from formintake import reports
    from formintake.status import compute_status
    from formintake.waivers import apply_waivers, load_waivers
    from formintake.validators.batch import quota_usage, run_batch_rules

    layout = Layout(campaign.id)
    ordered = [docs[vid] for vid in (version_id_of(v) for v in plan.versions) if vid in docs]
    if plan.earlier:  # earlier versions of a key come before its current one (stable sort)
        ordered = sorted(list(plan.earlier.values()) + ordered, key=lambda d: d["record"]["source"]["uploaded_at"] or "")
    chains = link_versions(ordered, campaign)

    current: list[Record] = []
    superseded: list[Record] = []
    for chain in chains:
        recs = [Record.model_validate(d["record"]) for d in chain.versions]
        for r in recs:
            r.application_id = chain.application_id
        cur = recs[-1]
        cur.supersedes = [r.source for r in recs[:-1]]
        for old, nxt in zip(recs[:-1], recs[1:]):
            old.status = "superseded"
            old.superseded_by = nxt.source
            superseded.append(old)
        current.append(cur)

    batch = run_batch_rules(current, campaign)
    for r in current:
        r.findings = r.findings + batch.get(r.application_id, [])
    waivers = load_waivers(_load_json_bytes(results, layout.waivers))
    apply_waivers(current, waivers, campaign)
    for r in current:
        r.status = compute_status(r.findings, readable=is_readable(r.findings))

    # new / persisting / resolved against the baseline run (the last run whose inputs differed)
    runs = _load_json(results, layout.runs, {"runs": []})
    digest = hashlib.sha256("\n".join(sorted(docs)).encode()).hexdigest()
    last = runs["runs"][-1] if runs["runs"] else None
    if last and last["digest"] == digest:
        baseline_id = last.get("baseline")
    else:
        baseline_id = last["run_id"] if last else None
    baseline = _load_json(results, layout.findings_snapshot(baseline_id), {}) if baseline_id else {}
    new_count = resolved_count = 0
    for r in current:
        prev = {(f["code"], f["field"]): f for f in baseline.get(r.application_id, [])}
        ids = set()
        for f in r.findings:
            ids.add(f.identity())
            if baseline_id:
                f.change = "persisting" if f.identity() in prev else "new"
                new_count += f.change == "new"
        if baseline_id:
            r.resolved_findings = [Finding.model_validate({**f, "change": "resolved"}) for k, f in prev.items() if k not in ids]
            resolved_count += len(r.resolved_findings)

    current.sort(key=lambda r: (r.recommender_unit or r.recommender_path or "", r.source.key))
    superseded.sort(key=lambda r: (r.source.key, r.source.uploaded_at or ""))
    qu = quota_usage(current, campaign)
    quota_units, quota_cities = _quota_rows(qu)
    counts: dict[str, int] = {}
    for r in current:
        counts[r.status] = counts.get(r.status, 0) + 1
    counts["superseded"] = len(superseded)

    result = RunResult(run_id, current, superseded, processed, len(plan.known), {}, baseline_id, counts,
                       new_count, resolved_count, quota_units, quota_cities)
    if not write_reports:
        return result

    # records
    for r in current:
        results.put(layout.record(r.application_id), dumps(r.model_dump(mode="json")), "application/json")
    results.put(layout.records_file("applications.jsonl"), reports.write_applications_jsonl(current), "application/x-ndjson")
    results.put(layout.records_file("applications.csv"), reports.write_applications_csv(current), "text/csv; charset=utf-8")
    results.put(layout.records_file("applications.xlsx"), reports.write_applications_xlsx(current),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    # snapshot of findings for the next run's new/resolved marks
    snapshot = {r.application_id: [f.model_dump(mode="json") for f in r.findings] for r in current}
    results.put(layout.findings_snapshot(run_id), dumps(snapshot), "application/json")

    inp = reports.ReportInput(
        campaign=campaign, run_id=run_id, generated_at=now_iso(), records=current, superseded=superseded,
        quota_units=quota_units, quota_cities=quota_cities, previous_run_id=baseline_id,
        stats={"processed": processed, "reused": len(plan.known), "seconds": round(time.perf_counter() - started, 2),
               "versions": len(plan.versions)},
    )
    files = {
        "exceptions.json": (reports.write_exceptions_json(inp), "application/json"),
        "exceptions.csv": (reports.write_exceptions_csv(inp), "text/csv; charset=utf-8"),
        "exceptions.xlsx": (reports.write_exceptions_xlsx(inp), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        "exceptions.html": (reports.write_exceptions_html(inp), "text/html; charset=utf-8"),
    }
    for name, (data, ctype) in files.items():
        results.put(layout.report(run_id, name), data, ctype)
        result.report_keys[name] = layout.report(run_id, name)
    # the run is complete: switch latest/ (manifest last, so a reader can tell a finished switch)
    manifest = {"run_id": run_id, "files": {n: hashlib.sha256(d).hexdigest() for n, (d, _) in files.items()}}
    for name, (data, ctype) in files.items():
        results.put(layout.latest(name), data, ctype)
    results.put(layout.latest("manifest.json"), dumps(manifest), "application/json")
    runs["runs"].append({"run_id": run_id, "digest": digest, "baseline": baseline_id,
                         "started_at": started_at, "completed_at": now_iso(precise=True),
                         "processed": processed, "reused": len(plan.known), "counts": counts})
    runs["runs"] = runs["runs"][-200:]
    results.put(layout.runs, dumps(runs), "application/json")
    result.summary_markdown = reports.summary_markdown(inp)  # type: ignore[attr-defined]
    result.report_input = inp  # type: ignore[attr-defined]
    return result


def is_readable(findings: list[Finding]) -> bool:
    """False when an intake error (FILE_* / FORM_*) says the file could not be read as a form."""
    rules = validators.RULES
    return not any(f.severity == "error" and f.code in rules and rules[f.code].scope == "intake" for f in findings)


def _load_json_bytes(store: ObjectStore, key: str) -> bytes | None:
    try:
        return store.get(key)
    except KeyError:
        return None


def _quota_rows(qu: dict) -> tuple[list[dict], list[dict]]:
    """validators.batch.quota_usage ({unit: {...}}, {city: {...}}) as the report's rows."""
    return ([{"unit": k, **v} for k, v in qu["units"].items()],
            [{"city": k, **v} for k, v in qu["cities"].items()])


# --------------------------------------------------------------------------- one whole run (no Prefect)


def run_campaign(uploads: ObjectStore, results: ObjectStore, campaign: Campaign, *, uploads_prefix: str,
                 full: bool = False, run_id: str | None = None, bucket: str | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> RunResult:
    """The whole pipeline in-process: what `formintake check` runs, and what the flow orchestrates."""
    started, started_at = time.perf_counter(), now_iso(precise=True)
    run_id = run_id or new_run_id()
    plan = plan_run(uploads, results, campaign, uploads_prefix=uploads_prefix, full=full)
    docs = dict(plan.known)
    versions = process_versions(uploads, results, plan.new, campaign, uploads_prefix=uploads_prefix, run_id=run_id,
                                full=full, known=plan.known, bucket=bucket)
    for i, doc in enumerate(versions, 1):
        docs[doc["vid"]] = doc
        if progress:
            progress(i, len(plan.new), doc["record"]["source"]["key"])
    return finish_run(uploads, results, campaign, plan, docs, run_id=run_id, processed=len(plan.new),
                      started=started, bucket=bucket, started_at=started_at)


def process_versions(uploads: ObjectStore, results: ObjectStore, versions: list[ObjectVersion], campaign: Campaign, *,
                     uploads_prefix: str, run_id: str, full: bool, known: dict[str, dict],
                     bucket: str | None = None) -> Iterator[dict]:
    """``process_version`` over some versions, in order, yielding each stored version doc.

    A ``full`` re-run keeps each version's first-seen run from its earlier doc; an incremental run
    reuses the extraction of a re-uploaded identical file (``known``: the plan's unchanged versions).
    """
    layout = Layout(campaign.id)
    twins = {} if full else same_content_index(known.values())
    for v in versions:
        previous = None
        if full:
            try:
                previous = json.loads(results.get(layout.version_record(version_id_of(v))))
            except KeyError:
                pass
        yield process_version(uploads, results, v, campaign, uploads_prefix=uploads_prefix, run_id=run_id,
                              previous=previous, bucket=bucket, same_content=twins)
