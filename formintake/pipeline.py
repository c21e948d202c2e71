"""The pipeline's work, as plain functions: the Prefect flow and `formintake check` both call these.

One run over a campaign:

1. ``plan_run``        list every object version under the campaign; split into *new* (never processed,
                       or ``full``) and *known* (a stored version document with the same ETag exists).
2. ``process_version`` read one version, extract, run the per-application rules -> a :class:`VersionDoc`,
                       stored under ``state/<campaign>/versions/`` in segments of many documents as the run
                       goes (formintake.versions: a run that dies halfway keeps what it finished, less at
                       most the last unfinished segment; the next run picks up the rest).
3. ``finish``          the steps of :mod:`formintake.steps`: link versions into applications (corrections
                       supersede) -> judge (batch rules, waivers, status) -> compare with the previous run
                       (new / persisting / resolved) -> publish records, reports, ``latest/`` and the history.

Every object version ends in exactly one record; nothing here modifies an upload.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import multiprocessing as mp
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from formintake import reports
from formintake.clock import new_run_id, now_iso
from formintake.config import Campaign
from formintake.document import application_findings, build_record, check_document, extract_and_check
from formintake.extractors.isolated import Job, Outcome, form_of, isolation_enabled, shared_extractor
from formintake.keys import ResultKeys
from formintake.models import Evidence, ExtractedForm, Finding, Record, SourceInfo
from formintake.steps.compare import compare_with_previous, load_json
from formintake.steps.inputs import fingerprint, unchanged_entry, unchanged_since
from formintake.steps.judge import judge
from formintake.steps.link import application_id_for, link_versions, records_of
from formintake.steps.publish import REPORT_FILES, append_run, publish
from formintake.storage.base import (NAME_CONTROL, NAME_DOT_SEGMENT, ObjectStore, ObjectTooLarge, ObjectVersion,
                                     UnreachableName, as_listed_in_xml)
from formintake.findings import make_finding
from formintake.timing import Laps, add as add_time, timed
from formintake.versions import (SegmentWriter, VersionDoc, VersionState, list_state, needs_index, read_state,
                                 read_versions_index, write_index)
from formintake.waivers import load_waivers

__all__ = [  # what the flow, the CLI, tests and bench use
    "Inputs", "Plan", "RunResult", "ResultKeys", "VersionDoc", "application_id_for", "build_record",
    "check_document", "check_inputs", "extract_and_check",
    "finish", "finish_unchanged", "new_run_id", "now_iso", "plan_run", "process_version", "process_versions", "run_campaign",
    "warm_pool_early",
    "same_content_index", "version_id_of",
]

log = logging.getLogger("formintake")

SUPPORTED_SUFFIXES = (".docx", ".pdf")
# process_versions: uploads read ahead of the extraction workers' demand (threads; their bytes held at once,
# besides the pool's window of twice the workers); version documents are stored behind in segments
# (versions.SegmentWriter)
READ_AHEAD = 4


# --------------------------------------------------------------------------- keys and ids


def version_id_of(v: ObjectVersion) -> str:
    """A stable id for one object version (file-safe)."""
    basis = f"{v.key}\x00{v.version_id or ''}\x00{v.etag or ''}"
    return hashlib.sha1(basis.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def recommender_of_key(key: str, uploads_prefix: str) -> str | None:
    """``2023/江苏省/x.docx`` -> ``江苏省`` (the folder the upload was filed under)."""
    rel = key[len(uploads_prefix):] if key.startswith(uploads_prefix) else key
    # the folders as written, empty and "." segments skipped (``2023//江苏省/x``, ``2023/./江苏省/x`` on AWS)
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return parts[0] if len(parts) >= 2 else None


# --------------------------------------------------------------------------- step 0: did anything change?


@dataclass
class Inputs:
    versions: list[ObjectVersion]  # every version under the campaign, oldest first
    fingerprint: str  # formintake.steps.inputs.fingerprint
    history: dict  # runs.json as read
    same_as: dict | None  # the last run's runs.json entry when nothing changed since it (else None)


def _listing(uploads: ObjectStore, uploads_prefix: str) -> list[ObjectVersion]:
    # stable sort: versions of one key keep the store's oldest-first order when their times tie
    return sorted(uploads.list_versions(uploads_prefix), key=lambda v: (v.last_modified, v.key))


@timed("plan")
def check_inputs(uploads: ObjectStore, results: ObjectStore, campaign: Campaign, *, uploads_prefix: str, full: bool,
                 bucket: str | None = None) -> Inputs:
    """List the uploads, read runs.json and the waivers: three requests that tell whether this run's inputs
    equal the last complete run's (then ``same_as`` is set and :func:`finish_unchanged` ends the run)."""
    keys = ResultKeys(campaign.id)
    versions = _listing(uploads, uploads_prefix)
    history = load_json(results, keys.runs, {"runs": []})
    inputs = fingerprint(versions, campaign, _get_or_none(results, keys.waivers), uploads_prefix=uploads_prefix,
                         bucket=bucket)
    return Inputs(versions, inputs, history, None if full else unchanged_since(history, inputs))


# --------------------------------------------------------------------------- step 1: plan


@dataclass
class Plan:
    campaign: str
    uploads_prefix: str
    versions: list[ObjectVersion]  # every version under the campaign, oldest first
    new: list[ObjectVersion]  # to extract in this run
    known: dict[str, VersionDoc]  # vid -> stored version document for the rest
    # versions seen by an earlier run that the store no longer lists although their key is still there
    # (a file overwritten in a local folder: no version history). They stay in the history as superseded.
    earlier: dict[str, VersionDoc] = field(default_factory=dict)
    # what the state held and where from (versions.read_state): whether finishing rewrites the index
    state: VersionState | None = None
    # stored documents of versions neither listed nor of a listed key: kept when the index is rewritten
    others: dict[str, VersionDoc] = field(default_factory=dict)


def write_versions_index(results: ObjectStore, keys: ResultKeys, docs: Iterable[VersionDoc], plan: Plan,
                         run_id: str, processed: int) -> bool:
    """Rewrite ``versions/index.jsonl`` when the segments beside it have grown (versions.needs_index): a run
    that changed one version leaves it as it is (its one segment is read beside it next time)."""
    state = plan.state or VersionState({}, older=True)
    if not needs_index(state, processed):
        return False
    write_index(results, keys, itertools.chain(docs, plan.others.values()), state, run_id)
    return True


@timed("plan")
def plan_run(uploads: ObjectStore, results: ObjectStore, campaign: Campaign, *, uploads_prefix: str, full: bool,
             versions: list[ObjectVersion] | None = None, warm_pool: bool = True) -> Plan:
    """``versions``: the listing :func:`check_inputs` made (else the uploads are listed here).
    ``warm_pool``: when a version is certainly new (no stored document), start this process's extraction
    workers (off when extraction runs elsewhere: Dask). The state is read with one listing of
    ``versions/`` and a GET per object holding documents (the index and the segments beside it:
    versions.read_state), never a GET per version."""
    keys = ResultKeys(campaign.id)
    versions = _listing(uploads, uploads_prefix) if versions is None else versions
    listed = list_state(results, keys)  # the one listing of the state
    warm = warm_pool and _pool_usable()
    if warm and (full or not (listed.index or listed.segments or listed.legacy)):
        shared_extractor().warm_up()  # certainly new (nothing stored): started while the state is read
        warm = False
    state = read_state(results, keys, listed=listed)
    stored = state.docs
    if warm and any(version_id_of(v) not in stored for v in versions):
        shared_extractor().warm_up()

    new: list[ObjectVersion] = []
    known: dict[str, VersionDoc] = {}
    for v in versions:
        vid = version_id_of(v)
        doc = None if full else stored.get(vid)
        # a version our own failure left (INTERNAL_ERROR) is retried, never remembered as done
        if doc is not None and doc.source.etag == v.etag and not has_internal_error(doc):
            known[vid] = doc
            continue
        new.append(v)
    current = {version_id_of(v) for v in versions}
    upload_keys = {v.key for v in versions}
    earlier: dict[str, VersionDoc] = {}
    others: dict[str, VersionDoc] = {}
    for vid in sorted(set(stored) - current):
        doc = stored[vid]
        (earlier if doc.source.key in upload_keys else others)[vid] = doc
    state.docs = {}  # held as known/earlier/others: not twice
    return Plan(campaign.id, uploads_prefix, versions, new, known, earlier, state, others)


_first_seen_lock = threading.Lock()
_first_seen: dict[tuple[str, str, str], dict[str, str]] = {}


def _first_seen_runs(results: ObjectStore, keys: ResultKeys, run_id: str) -> dict[str, str]:
    """vid -> the run that first took it in, for a --full re-run (which keeps it): read from the state once
    per process and run (the flow's batches share it, each with stores of its own), without pydantic."""
    with _first_seen_lock:
        key = (repr(results), keys.campaign, run_id)  # where (bucket and prefix, or folder), never a secret
        if key not in _first_seen:
            _first_seen.clear()
            _first_seen[key] = read_state(results, keys, what="first_seen").docs
        return _first_seen[key]


def has_internal_error(doc: VersionDoc) -> bool:
    return any(f.code == "INTERNAL_ERROR" for f in doc.record.findings)


# --------------------------------------------------------------------------- step 2: process one version


def _unread_form(filename: str, code: str, message: str, message_en: str, value=None) -> ExtractedForm:
    """A form that was never read, with the one intake finding that says why."""
    form = ExtractedForm(source=filename)
    form.intake_findings.append(make_finding(code, message=message, message_en=message_en, value=value,
                                             evidence=Evidence(method="file")))
    return form


def internal_error_finding(what: str, exc: BaseException) -> Finding:
    """INTERNAL_ERROR: our failure, said to reviewers as a system fault (rules.md); the caller logs it."""
    return make_finding("INTERNAL_ERROR", message=f"系统处理出错（{what}），不是申报单位的问题；将在下次运行时重试",
                        message_en=f"{what}: {type(exc).__name__}: {exc}"[:300])


_NAME_LOST_ZH = {
    NAME_CONTROL: "文件名含控制字符，存储服务列出时以“\ufffd”代替且找不到原名",
    NAME_DOT_SEGMENT: "文件路径含“.”或“..”段，存储接口无法按此名称读取",
}


def _name_unreadable(filename: str, key: str, reason: str) -> ExtractedForm:
    """FILE_NAME_UNREADABLE: the upload's name (not its content, not our code) keeps it from being read."""
    why = _NAME_LOST_ZH.get(reason, "文件名无法用于读取")
    return _unread_form(filename, "FILE_NAME_UNREADABLE", f"{why}（“{key}”），未读取；请改用普通文件名后重新上传",
                        f"{reason} ({key!r}); not read", value=key)


def _read_upload(uploads: ObjectStore, v: ObjectVersion, campaign: Campaign, filename: str
                 ) -> tuple[bytes | None, ExtractedForm | None]:
    """The upload's bytes, or (None, a form saying why they were not read). Never more than the size
    limit is read: the listing's size (stat / S3 listing) decides first, then a capped read."""
    limit = campaign.thresholds.file_size_limit_bytes
    mb = campaign.thresholds.file_size_limit_mb

    def too_large(size: int | None) -> ExtractedForm:
        return _unread_form(filename, "FILE_TOO_LARGE", f"文件超过{mb:g} MB的大小限制，未读取",
                            f"over the {mb:g} MB size limit ({size if size is not None else 'more than that'} bytes); not read",
                            value=size)

    if v.not_regular:
        return None, _unread_form(filename, "FILE_NOT_REGULAR",
                                  "不是普通文件（指向上传目录之外的链接、失效链接、设备或管道），未读取",
                                  f"not a regular file ({v.not_regular}); not read")
    if v.name_lost:  # listed under a name no request can reach: the name's fault, not ours (not retried)
        return None, _name_unreadable(filename, v.key, v.name_lost)
    if v.size is not None and v.size > limit:
        return None, too_large(v.size)
    try:
        return uploads.get(v.key, v.version_id, max_bytes=limit), None
    except ObjectTooLarge as exc:
        return None, too_large(exc.size)
    except UnreachableName as exc:
        return None, _name_unreadable(filename, v.key, exc.reason)
    except Exception as exc:  # listed but unreadable (vanished, refused): a record that says so, retried
        from formintake.storage.s3 import is_transient  # here: the extraction workers never import minio

        if is_transient(exc):
            raise  # storage.s3 has already retried it: the run stops, the next run resumes (one retry policy)
        log.error("could not read %s (version %s)", v.key, v.version_id, exc_info=True)
        form = ExtractedForm(source=filename)
        form.intake_findings.append(internal_error_finding("读取上传文件失败", exc))
        return None, form


def _name_findings(v: ObjectVersion) -> list[Finding]:
    """FILE_NAME_ENCODING (info) for a name that had to be decoded: GBK bytes in a local folder, or a key
    with control characters that the server listed with U+FFFD and whose real name was recovered."""
    if v.key_bytes_hex:
        return [make_finding("FILE_NAME_ENCODING", value=v.key, message=f"文件名不是UTF-8编码，已按GBK/GB18030解码为“{v.key}”",
                             message_en=f"the file name was not UTF-8 (bytes {v.key_bytes_hex}); decoded as GB18030")]
    if v.listed_as and not v.name_lost:
        codes = "、".join(sorted({f"U+{ord(c):04X}" for c in v.key if as_listed_in_xml(c) == "\ufffd"}))
        return [make_finding("FILE_NAME_ENCODING", value=v.key,
                             message=f"文件名含控制字符（{codes}），存储服务列出时显示为“{v.listed_as}”；已按原文件名读取",
                             message_en=f"the name holds control characters ({codes}); the server lists it as "
                                        f"{v.listed_as!r}; read by its real name")]
    return []


def process_version(uploads: ObjectStore, results: ObjectStore, v: ObjectVersion, campaign: Campaign, *,
                    uploads_prefix: str, run_id: str, previous: VersionDoc | None = None,
                    bucket: str | None = None, same_content: dict[tuple[str, str], VersionDoc] | None = None) -> VersionDoc:
    """Read, extract and check one object version; store its version document; return it.

    ``same_content`` maps (key, sha256) to an already processed version: a new version of a key whose
    bytes are identical to an earlier one (a re-upload of the same file) reuses that extraction.
    Whatever the upload (too large, not a file, unreadable, or our own bug), it ends in one record.
    """
    return next(process_versions(uploads, results, [v], campaign, uploads_prefix=uploads_prefix, run_id=run_id,
                                 full=False, known={}, bucket=bucket, previous={version_id_of(v): previous},
                                 twins=same_content or {}))


def same_content_index(docs: Iterable[VersionDoc]) -> dict[tuple[str, str], VersionDoc]:
    """(key, sha256) -> version doc, for reusing the extraction of a re-uploaded identical file."""
    out: dict[tuple[str, str], VersionDoc] = {}
    for d in docs:
        if d.source.sha256 and not has_internal_error(d):
            out.setdefault((d.source.key, d.source.sha256), d)
    return out


def process_versions(uploads: ObjectStore, results: ObjectStore, versions: list[ObjectVersion], campaign: Campaign, *,
                     uploads_prefix: str, run_id: str, full: bool, known: dict[str, VersionDoc],
                     bucket: str | None = None, previous: dict[str, VersionDoc | None] | None = None,
                     twins: dict[tuple[str, str], VersionDoc] | None = None,
                     step: str = "extract") -> Iterator[VersionDoc]:
    """Read, extract and check object versions on every core; store and yield each version document as
    it completes (completion order, not the order given).

    Uploads are read as workers free up (a bounded window: never every upload's bytes at once); each is
    extracted in a worker process with its own time limit (FILE_TIMEOUT). Whatever the upload (too
    large, not a file, unreadable, or our own bug), it ends in one record. A ``full`` re-run keeps each
    version's first-seen run from its earlier doc; an incremental run reuses the extraction of a
    re-uploaded identical file (``twins``; by default from ``known``, the plan's unchanged versions).
    ``step``: the formintake.timing step the time goes to (the flow's concurrent batches time their own).
    """
    keys = ResultKeys(campaign.id)
    if twins is None:
        twins = {} if full else same_content_index(known.values())
    previous = dict(previous or {})
    timeout_s = campaign.thresholds.doc_timeout_s

    # a --full re-run keeps when each version was first taken in (read from the state once: no GET a version)
    first_seen = _first_seen_runs(results, keys, run_id) if full else {}

    def fetch(v: ObjectVersion) -> tuple[float, bytes | None, ExtractedForm | None, str | None]:
        """In a reader thread: the upload's bytes (or why not) and their sha256."""
        started = time.perf_counter()
        data, unread = _read_upload(uploads, v, campaign, PurePosixPath(v.key).name)
        return started, data, unread, None if data is None else hashlib.sha256(data).hexdigest()

    readers = ThreadPoolExecutor(READ_AHEAD, thread_name_prefix="formintake-read")

    def jobs() -> Iterator[Job]:
        # uploads are read ahead of the workers' demand by a few threads: at most READ_AHEAD in flight or
        # waiting here, besides the pool's own window (never every upload's bytes at once)
        todo = iter(versions)
        ahead: deque[tuple[ObjectVersion, Future]] = deque()
        try:
            while True:
                for v in itertools.islice(todo, READ_AHEAD - len(ahead)):
                    ahead.append((v, readers.submit(fetch, v)))
                if not ahead:
                    return
                v, fut = ahead.popleft()
                started, data, unread, sha = fut.result()  # a transient read failure stops the run
                vid = version_id_of(v)
                source = SourceInfo(
                    bucket=bucket, key=v.key, key_bytes_hex=v.key_bytes_hex, version_id=v.version_id, etag=v.etag,
                    size=v.size, uploaded_at=v.last_modified,
                    recommender_path=recommender_of_key(v.key, uploads_prefix),
                )
                filename = PurePosixPath(v.key).name
                if unread is not None:  # nothing to extract: the job carries its result
                    record = build_record(unread, list(unread.intake_findings), source, campaign)
                    yield Job((v, vid, started, filename, source, None), None, ((record, None),), 0)
                    continue
                source.sha256 = sha
                twin = twins.get((v.key, sha))
                if twin is not None:
                    record = twin.record.model_copy(deep=True)
                    record.source = source
                    yield Job((v, vid, started, filename, source, twin.vid), None, ((record, None),), 0)
                else:
                    yield Job((v, vid, started, filename, source, None), check_document,
                              (data, filename, campaign, source), timeout_s)
                del data, fut
        finally:
            for _, fut in ahead:
                fut.cancel()

    # version documents are stored behind, many to a segment (versions.SegmentWriter: every SEGMENT_DOCS
    # documents or SEGMENT_SECONDS); each is yielded once its segment is stored (in the order the workers
    # finished), so a run that dies keeps what it handed on and redoes at most the documents not yet in a
    # stored segment. A PUT that still fails after storage.s3's retries stops the run.
    segments = SegmentWriter(results, keys, run_id)
    t0 = time.perf_counter()
    try:
        for (v, vid, started, filename, source, reused_from), out in _run(jobs(), shared=(campaign,)):
            if out.status == "ok":
                record, tb = out.value
                if tb:
                    log.error("extractor failed on %s (INTERNAL_ERROR):\n%s", filename, tb)
            elif out.status == "error":  # our bug outside the extractor's own guard: still one record
                log.error("processing %s (version %s) failed:\n%s", v.key, v.version_id, out.detail)
                form = ExtractedForm(source=filename)
                form.intake_findings.append(internal_error_finding("处理文件时出错", RuntimeError(
                    out.detail.splitlines()[0] if out.detail else "worker error")))
                record = build_record(form, list(form.intake_findings), source, campaign)
            else:  # stopped at its time limit, or its worker died twice: a finding about the file
                log.warning("extraction of %s: %s (%s)", filename, out.status, out.detail)
                form = form_of(out, filename, timeout_s)
                record = build_record(form, application_findings(form, campaign, source.recommender_path, source.uploaded_at),
                                      source, campaign)
            if reused_from is None:
                record.findings.extend(_name_findings(v))
            prev = previous.get(vid)
            doc = VersionDoc(
                vid=vid,
                # a --full re-run keeps when the version was first taken in: corrections are judged by it
                first_seen_run=(prev.first_seen_run if prev else None) or first_seen.get(vid) or run_id,
                processed_run=run_id,
                extract_ms=round((time.perf_counter() - started) * 1000, 1),
                same_content_as=reused_from,
                record=record,
            )
            segments.add(doc)
            yield from segments.stored()
        segments.close()
        while done := segments.stored():
            yield from done
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
        segments.close()  # what was handed to the writer is stored even when the run stops here
        add_time(step, time.perf_counter() - t0)


def _pool_usable() -> bool:
    """Isolation is on and this process may start processes (a daemonic one may not: a Dask worker)."""
    return isolation_enabled() and not mp.current_process().daemon


def warm_pool_early(inputs: Inputs, full: bool) -> bool:
    """Start this process's extraction workers now, in the background (``IsolatedExtractor.warm_up``),
    when :func:`check_inputs` lists versions the last run did not handle (more or fewer than its
    processed + reused) or ``full``: a fresh process spends ~1 s starting them, which the plan (listing the
    state, reading the versions index) then hides. A run whose only change is the waivers or the campaign
    file lists as many as the last run and starts none here (the plan still does if a version is new: an
    overwritten file in a local folder). Returns whether it started them."""
    runs = inputs.history.get("runs") or []
    last = runs[-1] if runs else {}
    if not _pool_usable() or not (full or len(inputs.versions) != last.get("processed", 0) + last.get("reused", 0)):
        return False
    shared_extractor().warm_up()
    return True


def _run(jobs: Iterator[Job], shared: tuple = ()) -> Iterator[tuple[tuple, Outcome]]:
    """Run the jobs in the extraction workers (completion order), or here one by one when isolation is
    off or this process may not start processes (a daemonic one: a Dask worker is the worker itself).
    ``shared``: what every job carries (the campaign), sent to each worker once."""
    if _pool_usable():
        yield from shared_extractor().run(jobs, shared=shared)
        return
    for job in jobs:
        if job.fn is None:
            yield job.tag, Outcome("ok", job.args[0])
            continue
        try:
            yield job.tag, Outcome("ok", job.fn(*job.args))
        except Exception as exc:  # noqa: BLE001 - as a worker reports it
            yield job.tag, Outcome("error", detail=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")


# --------------------------------------------------------------------------- step 3: link, judge, compare, publish


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
    report_input: reports.ReportInput | None = None
    same_as: str | None = None  # nothing changed since this run: its records and reports stand (nothing written)

    @property
    def summary_markdown(self) -> str:
        """The run's summary for the Prefect artifact (personal data masked)."""
        return reports.summary_markdown(self.report_input) if self.report_input else ""


def finish(uploads: ObjectStore, results: ObjectStore, campaign: Campaign, plan: Plan, docs: dict[str, VersionDoc], *,
           run_id: str, processed: int, started: float, bucket: str | None = None,
           write_reports: bool = True, started_at: str | None = None, inputs: str | None = None) -> RunResult:
    """Link -> judge -> compare -> publish (:mod:`formintake.steps`), once every version is processed."""
    keys = ResultKeys(campaign.id)
    ordered = [docs[vid] for vid in (version_id_of(v) for v in plan.versions) if vid in docs]
    if plan.earlier:  # earlier versions of a key come before its current one (stable sort)
        ordered = sorted([*plan.earlier.values(), *ordered], key=lambda d: d.source.uploaded_at or "")

    lap = Laps()
    current, superseded = records_of(link_versions(ordered, campaign))
    lap("link")
    judgement = judge(current, campaign, load_waivers(_get_or_none(results, keys.waivers)))
    comparison = compare_with_previous(results, keys, current, list(docs))
    lap("batch rules")

    current.sort(key=lambda r: (r.recommender_unit or r.recommender_path or "", r.source.key))
    superseded.sort(key=lambda r: (r.source.key, r.source.uploaded_at or ""))
    counts: dict[str, int] = {}
    for r in current:
        counts[r.status] = counts.get(r.status, 0) + 1
    counts["superseded"] = len(superseded)
    inp = reports.ReportInput(
        campaign=campaign, run_id=run_id, generated_at=now_iso(), records=current, superseded=superseded,
        quota_units=judgement.quota_units, quota_cities=judgement.quota_cities,
        previous_run_id=comparison.baseline_run_id,
        stats={"processed": processed, "reused": len(plan.known), "seconds": round(time.perf_counter() - started, 2),
               "versions": len(plan.versions)},
    )
    result = RunResult(run_id, current, superseded, processed, len(plan.known), {}, comparison.baseline_run_id, counts,
                       comparison.new, comparison.resolved, judgement.quota_units, judgement.quota_cities, inp)
    # our own failures are retried by the next run: it may not short-cut (steps.inputs)
    internal = sum(has_internal_error(d) for d in ordered) + sum(
        f.code == "INTERNAL_ERROR" for r in current for f in r.findings)
    if write_reports:
        write_versions_index(results, keys, ordered, plan, run_id, processed)
        lap("records")
        result.report_keys = publish(results, keys, inp, comparison, {
            "run_id": run_id, "digest": comparison.inputs_digest, "baseline": comparison.baseline_run_id,
            "started_at": started_at, "processed": processed, "reused": len(plan.known), "counts": counts,
            "new_findings": comparison.new, "resolved_findings": comparison.resolved, "internal_errors": internal,
            **({"inputs": inputs} if inputs else {})})
    return result


def finish_unchanged(results: ObjectStore, campaign: Campaign, inputs: Inputs, *, run_id: str,
                     started_at: str | None = None) -> RunResult:
    """A run whose inputs equal the last complete run's: nothing is extracted, linked, judged or written
    but this run's line in runs.json; the records and reports of ``same_as`` stand."""
    assert inputs.same_as is not None
    keys = ResultKeys(campaign.id)
    entry = unchanged_entry(inputs.same_as, run_id=run_id, started_at=started_at, versions=len(inputs.versions),
                            inputs=inputs.fingerprint)
    append_run(results, keys, inputs.history, entry)
    same = entry["same_as"]
    return RunResult(run_id, [], [], 0, len(inputs.versions), {n: keys.report(same, n) for n in REPORT_FILES},
                     entry.get("baseline"), dict(entry.get("counts") or {}), entry.get("new_findings", 0),
                     entry.get("resolved_findings", 0), [], [], None, same_as=same)


def _get_or_none(store: ObjectStore, key: str) -> bytes | None:
    try:
        return store.get(key)
    except KeyError:
        return None


# --------------------------------------------------------------------------- one whole run (no Prefect)


def run_campaign(uploads: ObjectStore, results: ObjectStore, campaign: Campaign, *, uploads_prefix: str,
                 full: bool = False, run_id: str | None = None, bucket: str | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> RunResult:
    """The whole pipeline in-process: what `formintake check` runs, and what the flow orchestrates."""
    started, started_at = time.perf_counter(), now_iso(precise=True)
    run_id = run_id or new_run_id()
    inputs = check_inputs(uploads, results, campaign, uploads_prefix=uploads_prefix, full=full, bucket=bucket)
    if inputs.same_as is not None:
        return finish_unchanged(results, campaign, inputs, run_id=run_id, started_at=started_at)
    warm_pool_early(inputs, full)
    plan = plan_run(uploads, results, campaign, uploads_prefix=uploads_prefix, full=full, versions=inputs.versions)
    docs = dict(plan.known)
    versions = process_versions(uploads, results, plan.new, campaign, uploads_prefix=uploads_prefix, run_id=run_id,
                                full=full, known=plan.known, bucket=bucket)
    for i, doc in enumerate(versions, 1):
        docs[doc.vid] = doc
        if progress:
            progress(i, len(plan.new), doc.source.key)
    return finish(uploads, results, campaign, plan, docs, run_id=run_id, processed=len(plan.new),
                  started=started, bucket=bucket, started_at=started_at, inputs=inputs.fingerprint)
