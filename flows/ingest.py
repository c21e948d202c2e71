"""The Prefect flow: list a campaign's uploads, extract and check what is new, run the batch rules,
write records and reports, publish ``latest/``. It only orchestrates; the work is in formintake.pipeline.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from formintake import heap, pipeline, timing
from formintake.config import dask_address as config_dask_address
from formintake.config import load_campaign, s3_settings
from formintake.extractors.isolated import default_workers
from formintake.keys import ResultKeys
from formintake.models import STATUS_ZH
from formintake.logging_setup import install_mask_filter
from formintake.reports.artifacts import ARTIFACT_ROWS, NO_FINDINGS, findings_table, record_masker
from formintake.reports.masking import mask_pii
from formintake.storage.base import ObjectVersion
from formintake.versions import VersionDoc
from formintake.storage.s3 import S3Store, make_client, make_presign_client

# the flow's S3 threads share two malloc arenas instead of one each (formintake.heap): before any of them
# starts, in whichever process runs the flow (the CLI's, or a deployment's flow-run process)
heap.limit_arenas()

# personal data is masked in every log line of a run, whichever process runs the flow (CLI or worker)
for _name in ("prefect.flow_runs", "prefect.task_runs", "formintake"):
    install_mask_filter(logging.getLogger(_name))

# documents per task run: a local Prefect server records only ~30-40 task runs a second, so a task
# carries a batch of documents (object keys, never bytes), never one document
BATCH_MIN, BATCH_MAX = 16, 250


def batch_size(total: int, parallel: int) -> int:
    """About four batches per parallel slot (Dask worker threads; 1 for the local pool, which gives each
    batch every core), so the slots stay busy to the end; within [BATCH_MIN, BATCH_MAX]."""
    return max(BATCH_MIN, min(BATCH_MAX, -(-total // max(1, 4 * parallel))))


# Retries: one policy, stated once. Each S3 call retries transient failures itself (storage.s3.retrying:
# 5 attempts, exponential back-off, about 3 s in all; never 403/404 or our own bugs). Tasks do not retry
# on top of that: a task that still fails fails the run, and the next run resumes from the version
# documents already stored (latest/ is switched only by a complete run).

# set by the CLI to draw a progress bar; (done, total, key)
progress_hook: Callable[[int, int, str], None] | None = None


def _stores():
    settings = s3_settings()
    client = make_client(settings)
    uploads = S3Store(client, settings.uploads_bucket)
    results = S3Store(client, settings.results_bucket, settings.results_prefix,
                      presign_client=make_presign_client(settings))
    return settings, uploads, results


def _run_name() -> str:
    campaign = flow_run.parameters.get("campaign", "?")
    full = " full" if flow_run.parameters.get("full") else ""
    try:  # the time in the campaign's time zone
        tz: dt.tzinfo = ZoneInfo(load_campaign(campaign).timezone)
    except Exception:  # a bad campaign fails the flow itself, with the reason; the name only needs a time
        tz = dt.timezone.utc
    return f"formintake {campaign}{full} {dt.datetime.now(tz):%Y-%m-%d %H:%M}"


# Large arguments (listings, version documents) go to tasks wrapped in ``quote``: Prefect would otherwise
# walk every object inside them twice per task run looking for futures (most of its time at 1,000 forms).


@task(name="list uploads", cache_policy=NO_CACHE)
def plan_uploads(campaign_id: str, full: bool, versions: list[ObjectVersion] | None = None,
                 warm_pool: bool = True) -> pipeline.Plan:
    """Decide what must be extracted among every object version of the campaign (``versions``: the
    listing the flow made, else listed here; ``warm_pool``: extraction runs in this process's pool)."""
    _, uploads, results = _stores()
    camp = load_campaign(campaign_id)
    plan = pipeline.plan_run(uploads, results, camp, uploads_prefix=f"{campaign_id}/", full=full, versions=versions,
                             warm_pool=warm_pool)
    log = get_run_logger()
    log.info("%d object versions under %s/: %d to extract (%s), %d unchanged since an earlier run (reused)",
             len(plan.versions), campaign_id, len(plan.new), "full re-run" if full else "new or changed", len(plan.known))
    if plan.known:
        keys = [f"{d.source.key}@{d.source.version_id}" for d in plan.known.values()]
        log.info("reused (same version id and ETag as processed in run %s…): %s%s",
                 min(d.processed_run for d in plan.known.values()),
                 ", ".join(mask_pii(k) for k in keys[:50]), f" … and {len(keys) - 50} more" if len(keys) > 50 else "")
    return plan


@task(name="extract and check", cache_policy=NO_CACHE)
def process_batch(versions: list[ObjectVersion], campaign_id: str, run_id: str, full: bool, done_before: int,
                  total: int, twins: dict[tuple[str, str], VersionDoc]) -> list[VersionDoc]:
    """Extract and run the per-application rules on a batch of object versions (read from S3 here, by
    whichever process runs the task: the flow run's, or a Dask worker's)."""
    settings, uploads, results = _stores()
    camp = load_campaign(campaign_id)
    log = get_run_logger()
    out, lines = [], []
    docs = pipeline.process_versions(uploads, results, versions, camp, uploads_prefix=f"{campaign_id}/", run_id=run_id,
                                     full=full, known={}, twins=twins, bucket=settings.uploads_bucket,
                                     step="extract batches")  # concurrent batches: the flow times the whole
    for i, doc in enumerate(docs, 1):
        rec, src = doc.record, doc.source
        codes = sorted({f.code for f in rec.findings})
        how = f"same bytes as {doc.same_content_as}, extraction reused" if doc.same_content_as \
            else f"{doc.extract_ms:.0f} ms"
        lines.append(f"processed {record_masker(rec)(src.key)} (version {src.version_id}): {rec.status}, {how}"
                     + (f", findings {', '.join(codes)}" if codes else ""))
        out.append(doc)
        if progress_hook:
            progress_hook(done_before + i, total, src.key)
    # one log entry per batch, a line per document: the API need not take 10,000 log calls
    log.info("%d versions processed:\n%s", len(lines), "\n".join(lines))
    return out


@task(name="batch rules, records and reports", cache_policy=NO_CACHE)
def finish(plan: pipeline.Plan, docs: dict[str, VersionDoc], run_id: str, processed: int, started: float,
           started_at: str, inputs: str | None = None) -> pipeline.RunResult:
    """Link corrections, run the batch rules, write records and reports, then switch latest/."""
    settings, uploads, results = _stores()
    camp = load_campaign(plan.campaign)
    return pipeline.finish(uploads, results, camp, plan, docs, run_id=run_id, processed=processed,
                           started=started, bucket=settings.uploads_bucket, started_at=started_at, inputs=inputs)


def _extract_all(plan: pipeline.Plan, campaign: str, run_id: str, full: bool, dask_address: str | None):
    """Map batches of the new versions over a task runner: Prefect's thread pool in front of the local
    extraction pool (every core), or a Dask cluster when an address is given. Yields version docs."""
    total = len(plan.new)
    if not total:
        return
    log = get_run_logger()
    if dask_address:
        from prefect_dask import DaskTaskRunner  # deferred: Dask is heavy and only for a cluster run

        with DaskTaskRunner(address=dask_address) as runner:
            parallel = _dask_threads(runner)
            size = batch_size(total, parallel)
            log.info("extracting %d versions on the Dask cluster at %s (%d worker threads), %d per task",
                     total, dask_address, parallel, size)
            yield from _map_batches(plan, campaign, run_id, full, size, runner)
        return
    size = batch_size(total, 1)
    log.info("extracting %d versions in %d local worker processes, %d per task", total, default_workers(), size)
    yield from _map_batches(plan, campaign, run_id, full, size, None)


def _dask_threads(runner) -> int:
    try:
        return max(1, sum(w.get("nthreads", 1) for w in runner.client.scheduler_info()["workers"].values()))
    except Exception:  # noqa: BLE001 - only for sizing the batches
        return 2


def _map_batches(plan: pipeline.Plan, campaign: str, run_id: str, full: bool, size: int, runner):
    total = len(plan.new)
    starts = list(range(0, total, size))
    batches = [plan.new[s:s + size] for s in starts]
    # a batch carries only the earlier versions its keys may repeat byte for byte (re-uploads)
    index = {} if full else pipeline.same_content_index(plan.known.values())
    twins = []
    for b in batches:
        keys = {v.key for v in b}
        twins.append({k: d for k, d in index.items() if k[0] in keys})
    params = [{"versions": b, "campaign_id": campaign, "run_id": run_id, "full": full, "done_before": s,
               "total": total, "twins": t} for b, s, t in zip(batches, starts, twins)]
    if runner is None:  # quoted: not walked (the Dask runner passes its parameters through as they are)
        futures = [process_batch.submit(**{**p, "versions": quote(p["versions"]), "twins": quote(p["twins"])})
                   for p in params]
    else:
        futures = [runner.submit(process_batch, parameters=p) for p in params]
    for fut in futures:
        yield from fut.result()


def _publish_artifacts(result: pipeline.RunResult, campaign_id: str) -> None:
    settings, _, results = _stores()
    key = f"formintake-{campaign_id}".lower()
    create_markdown_artifact(markdown=mask_pii(result.summary_markdown), key=f"{key}-summary",
                             description=f"formintake {campaign_id} run {result.run_id}")
    rows = findings_table(result.records, ARTIFACT_ROWS)  # resolved findings too, marked 已解决
    create_table_artifact(table=rows or NO_FINDINGS, key=f"{key}-findings",
                          description=f"Findings of run {result.run_id} (personal data masked)")
    url = results.url(result.report_keys["exceptions.html"])
    create_link_artifact(link=url, link_text=f"异常报告 exceptions.html ({result.run_id})", key=f"{key}-report",
                         description="Presigned link to the reviewers' report in S3 (valid 7 days)")


def _publish_unchanged_artifacts(result: pipeline.RunResult, campaign_id: str) -> None:
    """A run that changed nothing: a one-line summary and a fresh link to the standing report (the
    findings table artifact of the run whose outputs stand is still the current one)."""
    _, _, results = _stores()
    key = f"formintake-{campaign_id}".lower()
    counts = "，".join(f"{STATUS_ZH.get(k, k)} {v}" for k, v in result.counts.items())
    create_markdown_artifact(
        markdown=f"# formintake {campaign_id} 运行 {result.run_id}\n\n自运行 {result.same_as} 以来上传文件、轮次配置、"
                 f"豁免和程序均无变化，沿用其记录和报告（本次未写入任何结果文件）。\n\n{counts}\n",
        key=f"{key}-summary", description=f"formintake {campaign_id} run {result.run_id} (no change)")
    create_link_artifact(link=results.url(result.report_keys["exceptions.html"]),
                         link_text=f"异常报告 exceptions.html ({result.same_as})", key=f"{key}-report",
                         description="Presigned link to the reviewers' report in S3 (valid 7 days)")


@flow(name="formintake-ingest", flow_run_name=_run_name, log_prints=False)
def ingest(campaign: str = "2023", full: bool = False, dask_address: str | None = None) -> dict:
    """Ingest a campaign's uploads: extract what is new, check everything, publish reports.

    Args:
        campaign: 申报轮次：上传路径的第一级文件夹，也是配置文件 campaigns/<轮次>.toml 的名字（如 2023）。
            The round: first folder of the upload keys and the name of its campaign file.
        full: 是否全部重新提取：true 时重新提取每个上传文件（升级程序或修改轮次配置后使用），申报编号和豁免保留；
            false 时只处理新增或变化的文件。Re-extract every upload, not only new or changed ones.
        dask_address: Dask 调度器地址（如 tcp://dask-scheduler:8786），提取任务在该集群上运行；留空则使用
            FORMINTAKE_DASK_ADDRESS，仍未设置则在本机进程中运行。A Dask scheduler to run extraction on.
    """
    started = time.perf_counter()
    log = get_run_logger()
    load_campaign(campaign)  # fail fast on a bad configuration
    limit = f"formintake-{campaign}"
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(limit, 1)
        # tagged with the campaign however the run was started (CLI, deployment, UI, a test)
        if flow_run.id:
            wanted = sorted(set(flow_run.tags or []) | {"formintake", f"campaign-{campaign}"})
            client.update_flow_run(flow_run.id, tags=wanted)
    # two runs of one campaign never overlap: the second waits for the first
    with concurrency(limit, occupy=1, strict=True):
        run_id, started_at = pipeline.new_run_id(), pipeline.now_iso(precise=True)
        log.info("run %s of campaign %s (%s)", run_id, campaign, "full" if full else "incremental")
        settings, uploads, results = _stores()
        inputs = pipeline.check_inputs(uploads, results, load_campaign(campaign), uploads_prefix=f"{campaign}/",
                                       full=full, bucket=settings.uploads_bucket)
        if inputs.same_as is not None:  # no task at all: nothing to extract, link, judge or write
            result = pipeline.finish_unchanged(results, load_campaign(campaign), inputs, run_id=run_id,
                                               started_at=started_at)
            log.info("nothing changed since run %s (same %d object versions, campaign file, waivers and code): "
                     "its records and reports stand; nothing written but runs.json", result.same_as,
                     len(inputs.versions))
            _publish_unchanged_artifacts(result, campaign)
        else:
            dask = dask_address or config_dask_address()
            if not dask:  # the local workers start while the plan lists the state and reads the index
                pipeline.warm_pool_early(inputs, full)
            plan = plan_uploads(campaign, full, quote(inputs.versions), warm_pool=not dask)
            docs = dict(plan.known)
            total = len(plan.new)
            t0 = time.perf_counter()
            for doc in _extract_all(plan, campaign, run_id, full, dask):
                docs[doc.vid] = doc
            timing.add("extract", time.perf_counter() - t0)  # wall time of every batch (local pool or Dask)
            heap.trim()  # what the readers and writers freed goes back before link, judge and publish
            result = finish(quote(plan), quote(docs), run_id, total, started, started_at, inputs.fingerprint)
            _publish_artifacts(result, campaign)
    summary = {
        "flow_run_id": str(flow_run.id) if flow_run.id else None,
        "run_id": result.run_id,
        "same_as": result.same_as,
        "processed": result.processed,
        "reused": result.reused,
        "counts": result.counts,
        "new_findings": result.new_findings,
        "resolved_findings": result.resolved_findings,
        "reports": result.report_keys,
        "seconds": round(time.perf_counter() - started, 2),
    }
    log.info("run %s complete: %s; reports under %s and latest/", result.run_id, result.counts,
             ResultKeys(campaign).run_reports_prefix(result.same_as or result.run_id))
    return summary
