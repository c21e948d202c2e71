"""``./run bench --scale [--sizes 1000,3000,10000] [--s3] [--dask] [--floors]``: the pipeline at scale.

Uploads: 1,000 distinct generated forms (650 docx, 350 three-page PDFs) filed under four recommending
units (江苏省, 广东省, 深圳市, 中国移动通信集团有限公司), rendered once and cached under
``.bench-cache/`` (gitignored). 3,000 and 10,000 are those 1,000 hard-linked again under new names
(``c01-…``), as the issue's baseline did.

For each size, ``run_campaign`` (what ``formintake check`` runs) in a fresh interpreter over a local
folder: first run, re-run with none changed, re-run with one of them changed; per step wall time
(formintake.timing), peak RSS of that process and of the largest extraction worker.
``--s3``: the 1,000 through SeaweedFS on loopback and the Prefect flow on a temporary local server
(Prefect's share = flow wall time minus the pipeline's own steps). ``--dask``: the same on a
distributed.LocalCluster (2 workers). ``--floors``: the raw parsers beside the extractor. ``--report N``:
exceptions.html of N applications (the 1,000 forms' records copied, batch rules run) written and opened
in headless Chromium (open, filter by a unit, next page), without running the pipeline at N.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / ".bench-cache" / "scale"
UNITS = ("江苏省", "广东省", "深圳市", "中国移动通信集团有限公司")
STEPS = ("plan", "extract", "link", "batch rules", "records", "reports")
GENERATOR_VERSION = "1"  # bump when the corpus recipe changes


# --------------------------------------------------------------------------- the corpus


def _plan_for(i: int):
    """The i-th upload of the 1,000: unit, direction, format (65 % docx, 35 % PDF)."""
    from formintake.samples.batch import CMCC, Plan

    unit = UNITS[i % 4]
    direction = "experience_center" if (i // 4) % 2 else "platform"
    fmt = "pdf" if (i * 7) % 20 < 7 else "docx"  # 7 of every 20
    city = {"广东省": ("广州市", "佛山市", "东莞市")[i % 3], "深圳市": "深圳市",
            CMCC: ("北京市", "杭州市", "成都市")[i % 3]}.get(unit)
    return Plan(unit, direction, fmt, city=city, province="江苏省" if unit == "江苏省" else None,
                rank=(i // 8) + 1 if direction == "experience_center" else None, corp=unit == CMCC)


def _render_one(args: tuple[int, int]) -> tuple[str, bytes]:
    i, variant = args
    from formintake.samples.batch import _values
    from formintake.samples.render import pick_style
    from formintake.samples.sample import build_sample, file_stem

    plan = _plan_for(i)
    v = _values(plan, 50_000 + i)
    if variant:  # the "one changed" upload: a corrected contact phone
        v["contact_phone"] = "13800138000"
    style = pick_style(random.Random(f"bench-scale:{i}"), plan.fmt)
    s = build_sample(v, style, plan.fmt, recommender_path=plan.unit)
    return f"{plan.unit}/{i:04d}-{file_stem(v)}.{plan.fmt}", s.data


def base_corpus() -> Path:
    """The 1,000 distinct uploads (rendered once, in a pool over every core) plus the changed variant."""
    base = CACHE / f"base-v{GENERATOR_VERSION}"
    done = base / ".complete"
    if done.exists():
        return base
    import concurrent.futures as cf
    import multiprocessing as mp

    shutil.rmtree(base, ignore_errors=True)
    t0 = time.perf_counter()
    print("bench: rendering 1,000 uploads once (cached under .bench-cache/) …", file=sys.stderr)
    with cf.ProcessPoolExecutor(os.cpu_count() or 1, mp_context=mp.get_context("spawn")) as pool:
        for rel, data in pool.map(_render_one, [(i, 0) for i in range(1000)], chunksize=20):
            p = base / "uploads" / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
    rel, data = _render_one((0, 1))
    (base / "changed").mkdir(parents=True, exist_ok=True)
    (base / "changed" / "target").write_text(rel, encoding="utf-8")
    (base / "changed" / "data").write_bytes(data)
    done.write_text(f"{time.perf_counter() - t0:.0f} s\n")
    return base


def corpus(n: int) -> Path:
    """n uploads: a multiple of 1,000 is the base ones, then hard-linked copies ``cKK-<name>``; fewer than
    1,000 (quick runs on a loaded machine) is the first n of the base ones (the changed one among them)."""
    base = base_corpus()
    root = CACHE / f"n{n}"
    if (root / ".complete").exists():
        return root / "uploads"
    shutil.rmtree(root, ignore_errors=True)
    files = sorted(p for p in (base / "uploads").rglob("*") if p.is_file())
    if n < 1000:
        files = [p for p in files if int(p.name[:4]) < n]
    for k in range(max(1, n // 1000)):
        for p in files:
            rel = p.relative_to(base / "uploads")
            dst = root / "uploads" / rel.parent / (rel.name if k == 0 else f"c{k:02d}-{rel.name}")
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(p, dst)
    (root / ".complete").write_text("")
    return root / "uploads"


def change_one(uploads: Path) -> tuple[Path, Path]:
    """Replace one upload by its changed variant (a new file: the others keep their hard links)."""
    base = base_corpus()
    target = uploads / (base / "changed" / "target").read_text(encoding="utf-8")
    target.unlink()
    target.write_bytes((base / "changed" / "data").read_bytes())
    return target, base / "uploads" / target.relative_to(uploads)


def restore_one(target: Path, original: Path) -> None:
    target.unlink()
    os.link(original, target)


# --------------------------------------------------------------------------- measuring


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _worker_peaks_mb() -> list[float]:
    """VmHWM of the live extraction workers (forkserver children are not ours: read /proc)."""
    from formintake.extractors.isolated import shared_extractor

    out = []
    for pid in shared_extractor().worker_pids():
        try:
            for line in open(f"/proc/{pid}/status", encoding="ascii"):
                if line.startswith("VmHWM:"):
                    out.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return out


def _cpu_s() -> dict[int | str, float]:
    """CPU seconds (user + system) so far of this process ("flow"), of each live extraction worker (by
    pid), of this process's other descendants ("servers": SeaweedFS, the Prefect server, the fork
    server) and of the whole machine ("machine": every core's busy time, other people's work included)."""
    from formintake.extractors.isolated import shared_extractor

    tick = os.sysconf("SC_CLK_TCK")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out: dict[int | str, float] = {"flow": ru.ru_utime + ru.ru_stime, "servers": 0.0, "s3": 0.0}
    parent, cpu, name = {}, {}, {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                head, tail = open(f"/proc/{d}/stat", encoding="ascii", errors="replace").read().rsplit(")", 1)
                fields = tail.split()
                parent[int(d)], cpu[int(d)] = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
                name[int(d)] = head.partition("(")[2]
            except (OSError, IndexError, ValueError):
                pass
    workers = set(shared_extractor().worker_pids())
    me = os.getpid()
    for pid in cpu:
        p, hops = parent.get(pid), 0
        while p and p != me and hops < 20:
            p, hops = parent.get(p), hops + 1
        if p == me:
            if pid in workers:
                out[pid] = cpu[pid]
            elif name[pid] == "weed":
                out["s3"] += cpu[pid]
            else:
                out["servers"] += cpu[pid]
    with open("/proc/stat", encoding="ascii") as fh:
        user, nice, system, idle, iowait, irq, softirq, *_ = (int(x) for x in fh.readline().split()[1:])
    out["machine"] = (user + nice + system + irq + softirq) / tick
    return out


def _pool_use(before: dict, after: dict, stats_before: tuple[float, float]) -> dict:
    """What the flow process and the extraction workers did during one run: CPU seconds of each, and the
    pool's busy / idle seconds (idle: a worker waiting for its next document while the run lasted)."""
    from formintake.extractors.isolated import shared_extractor

    st = shared_extractor().stats
    busy, slots = st.busy_s - stats_before[0], st.slot_s - stats_before[1]
    workers = sum(v - before.get(k, 0.0) for k, v in after.items() if isinstance(k, int))
    flow, servers, s3 = (after[k] - before[k] for k in ("flow", "servers", "s3"))
    return {"flow_cpu_s": round(flow, 2), "worker_cpu_s": round(workers, 2), "s3_cpu_s": round(s3, 2),
            "servers_cpu_s": round(servers, 2),
            "others_cpu_s": round(max(0.0, after["machine"] - before["machine"] - flow - workers - servers - s3), 2),
            "pool_busy_s": round(busy, 2), "pool_idle_s": round(max(0.0, slots - busy), 2),
            "pool_idle_share": round(max(0.0, slots - busy) / slots, 3) if slots else None}


def _run_row(label: str, seconds: float, r, steps: dict, worker_peak: float, **extra) -> dict:
    return {"run": label, "seconds": round(seconds, 2), "processed": r.processed, "reused": r.reused,
            "steps": {k: round(v, 2) for k, v in steps.items()}, "rss_peak_mb": round(_rss_mb(), 1),
            "worker_peak_mb": round(worker_peak, 1), **extra}


def browser_open(html: Path) -> dict:
    """Open a report in headless Chromium: ms to the load event, and to re-filter by one unit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if not Path("/usr/bin/chromium").exists():
        return {}
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            t0 = time.perf_counter()
            page.goto(html.as_uri(), wait_until="load", timeout=120_000)
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")  # first frame painted
            load_ms = (time.perf_counter() - t0) * 1000
            units = page.eval_on_selector_all("#filter-unit option", "os => os.map(o => o.value).filter(v => v)")
            t0 = time.perf_counter()
            if units:
                page.select_option("#filter-unit", units[-1])
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
            filter_ms = (time.perf_counter() - t0) * 1000
            next_ms = None
            if page.locator("#pager-top button.next:not([disabled])").count():  # a paginated report
                t0 = time.perf_counter()
                page.click("#pager-top button.next")
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
                next_ms = round((time.perf_counter() - t0) * 1000)
        finally:
            browser.close()
    return {"html_mb": round(html.stat().st_size / 2**20, 1), "open_ms": round(load_ms), "filter_ms": round(filter_ms),
            "next_page_ms": next_ms}


def _records_1k() -> list:
    """The 1,000 forms' current records (a first ``run_campaign`` over the corpus, cached as JSON Lines
    under .bench-cache/ and made again when they no longer load)."""
    from formintake import pipeline
    from formintake.config import load_campaign
    from formintake.extractors.isolated import shared_extractor
    from formintake.models import Record
    from formintake.storage.local import LocalStore

    cached = CACHE / "records-1000.jsonl"
    if cached.exists():
        try:
            return [Record.model_validate_json(line) for line in cached.read_bytes().splitlines() if line.strip()]
        except ValueError:
            pass
    out = Path(tempfile.mkdtemp(prefix="formintake-scale-records-"))
    try:
        pipeline.run_campaign(LocalStore(corpus(1000)), LocalStore(out), load_campaign("2023"), uploads_prefix="")
        shared_extractor().close()
        data = (out / "records" / "2023" / "applications.jsonl").read_bytes()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    cached.write_bytes(data)
    return [Record.model_validate_json(line) for line in data.splitlines() if line.strip()]


def report_case(n: int) -> dict:
    """exceptions.html for n applications (the 1,000 forms' records copied under new ids and keys, batch
    rules run over them as a run would): seconds to write it, its size, and in headless Chromium the
    time to open it, to filter by one unit and to turn to the next page."""
    from formintake import reports
    from formintake.config import load_campaign
    from formintake.steps.judge import judge

    base = _records_1k()
    campaign = load_campaign("2023")
    batch_codes = {"DUPLICATE_APPLICATION", "QUOTA_EXCEEDED", "CITY_EXTRA_QUOTA_EXCEEDED", "PLATFORM_QUOTA_NONE"}
    records = []
    for k in range(max(1, n // len(base))):
        for r in base:
            records.append(r.model_copy(update={
                "application_id": f"{r.application_id}-{k:02d}",
                "findings": [f for f in r.findings if f.code not in batch_codes],
                "source": r.source.model_copy(update={"key": f"{r.source.key}.c{k:02d}"})}))
    j = judge(records, campaign, [])
    inp = reports.ReportInput(campaign=campaign, run_id="bench", generated_at="2026-12-01T00:00:00Z",
                              records=records, superseded=[], quota_units=j.quota_units, quota_cities=j.quota_cities)
    t0 = time.perf_counter()
    data = reports.write_exceptions_html(inp)
    write_s = time.perf_counter() - t0
    out = Path(tempfile.mkdtemp(prefix="formintake-scale-html-"))
    try:
        html = out / "exceptions.html"
        html.write_bytes(data)
        opened = browser_open(html)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"n": len(records), "write_s": round(write_s, 2), **opened}


def local_case(n: int) -> dict:
    """In a fresh interpreter: run_campaign (= formintake check) first / no change / one changed."""
    from formintake import pipeline, timing
    from formintake.config import load_campaign
    from formintake.extractors.isolated import shared_extractor
    from formintake.storage.local import LocalStore

    src = corpus(n)
    out = Path(tempfile.mkdtemp(prefix=f"formintake-scale-{n}-"))
    campaign = load_campaign("2023")
    uploads, results = LocalStore(src), LocalStore(out)
    runs, peak = [], 0.0
    try:
        for label in ("first run", "no change", "1 changed"):
            changed = change_one(src) if label == "1 changed" else None
            try:
                timing.take()
                t0 = time.perf_counter()
                r = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
                seconds = time.perf_counter() - t0
                peak = max([peak, *_worker_peaks_mb()])
                runs.append(_run_row(label, seconds, r, timing.take(), peak))
                print(f"bench: {n} {label}: {seconds:.1f} s", file=sys.stderr)
                if label == "first run":
                    report = out / "reports" / "2023" / "latest" / "exceptions.html"
                    html = browser_open(report) if report.exists() else {}
            finally:
                if changed:
                    restore_one(*changed)
    finally:
        shared_extractor().close()
        shutil.rmtree(out, ignore_errors=True)
    return {"n": n, "runs": runs, "html": html}


_PREFECT_SERVER = """
import sys
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness
with prefect_test_harness(server_startup_timeout=120):
    print("PREFECT_API_URL=" + str(PREFECT_API_URL.value()), flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin (or dies)
"""


@contextlib.contextmanager
def prefect_server():
    """Prefect's temporary local server (prefect_test_harness: a throw-away database and API), run from a
    process of its own as a deployment's server is: the harness imports the server's code (~75 MB) into
    whatever process runs it, which is not the flow's. Sets PREFECT_API_URL here; the server stops when
    this context ends."""
    import subprocess
    import threading

    proc = subprocess.Popen([sys.executable, "-c", _PREFECT_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        for line in proc.stdout:
            if line.startswith("PREFECT_API_URL="):
                os.environ["PREFECT_API_URL"] = line.strip().partition("=")[2]
                break
        else:
            raise RuntimeError(f"the Prefect test server did not start (exit code {proc.wait()})")
        # whatever it prints later (its log) is read away, so it never blocks on a full pipe
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield os.environ["PREFECT_API_URL"]
    finally:
        proc.stdin.close()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def s3_flow_case(n: int, dask: bool = False) -> dict:
    """In a fresh interpreter: the n uploads in SeaweedFS, the Prefect flow on a temporary local server
    (a process of its own)."""
    from formintake import timing
    from formintake.extractors.isolated import shared_extractor
    from formintake.s3server import LocalS3
    from formintake.storage.s3 import S3Store

    src = corpus(n)
    tmp = Path(tempfile.mkdtemp(prefix="formintake-scale-s3-"))
    server = LocalS3(tmp / "s3").start(timeout=60)
    cluster = None
    try:
        os.environ.update(server.env())
        os.environ["FORMINTAKE_UPLOADS_BUCKET"], os.environ["FORMINTAKE_RESULTS_BUCKET"] = "uploads", "results"
        client = server.client()
        uploads, results = S3Store(client, "uploads"), S3Store(client, "results")
        uploads.ensure_bucket(versioning=True)
        results.ensure_bucket()
        files = sorted(p for p in src.rglob("*") if p.is_file())
        for p in files:
            uploads.put(f"2023/{p.relative_to(src).as_posix()}", p.read_bytes())
        if dask:
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            os.environ["FORMINTAKE_DASK_ADDRESS"] = cluster.scheduler_address
        runs, peak = [], 0.0
        with prefect_server():
            from formintake.flows.ingest import ingest

            for label in ("first run", "no change", "1 changed"):
                if label == "1 changed":
                    base = base_corpus()
                    rel = (base / "changed" / "target").read_text(encoding="utf-8")
                    uploads.put(f"2023/{rel}", (base / "changed" / "data").read_bytes())
                timing.take()
                st = shared_extractor().stats
                cpu, stats = _cpu_s(), (st.busy_s, st.slot_s)
                t0 = time.perf_counter()
                summary = ingest(campaign="2023")
                seconds = time.perf_counter() - t0
                steps = timing.take()
                use = _pool_use(cpu, _cpu_s(), stats)
                peak = max([peak, *_worker_peaks_mb()])
                ours = sum(v for k, v in steps.items() if k in STEPS)
                flow_s = summary["seconds"]

                class R:  # what _run_row reads
                    processed, reused = summary["processed"], summary["reused"]
                row = _run_row(label, seconds, R, steps, peak, flow_seconds=flow_s, **use)
                # "extract" is the flow's wall time over all batches (local pool or Dask), not their sum
                row["prefect_share"] = round(max(0.0, flow_s - ours) / flow_s, 3) if flow_s else None
                row["state_objects"] = len(results.list_keys("state/2023/versions/"))  # after the run, untimed
                runs.append(row)
                print(f"bench: s3+flow{' dask' if dask else ''} {n} {label}: {seconds:.1f} s", file=sys.stderr)
            if not dask:
                runs.append(_fresh_process_run(uploads))
                runs[-1]["state_objects"] = len(results.list_keys("state/2023/versions/"))
    finally:
        shared_extractor().close()
        if cluster is not None:
            cluster.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"n": n, "dask": dask, "runs": runs}


_FRESH_RUN = """
import json, sys, time
t0 = time.perf_counter()
from formintake import timing
from formintake.extractors.isolated import shared_extractor
from formintake.flows.ingest import ingest
t1 = time.perf_counter()
summary = ingest(campaign="2023")
t2 = time.perf_counter()
st = shared_extractor().stats
print(json.dumps({"imports": t1 - t0, "seconds": t2 - t1, "summary": summary, "steps": timing.take(),
                  "pool_busy_s": st.busy_s, "pool_slot_s": st.slot_s}))
"""


def _fresh_process_run(uploads) -> dict:
    """One more upload changed, and the flow run in a new interpreter (as a deployment's worker runs each
    flow run): its extraction workers start during the run. Against the same S3 and Prefect servers."""
    import subprocess

    rel, data = _render_one((4, 1))  # upload 4 with a corrected phone: a new version to extract
    uploads.put(f"2023/{rel}", data)
    env = dict(os.environ)  # PREFECT_API_URL: prefect_server's
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _FRESH_RUN], env=env, capture_output=True, text=True, timeout=900,
                          cwd=ROOT)
    process_s = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"the fresh-process flow run failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    summary, steps, flow_s = out["summary"], out["steps"], out["summary"]["seconds"]
    ours = sum(v for k, v in steps.items() if k in STEPS)
    slots, busy = out["pool_slot_s"], out["pool_busy_s"]
    print(f"bench: s3+flow 1 changed, fresh process: {out['seconds']:.1f} s (process {process_s:.1f} s)", file=sys.stderr)
    return {"run": "1 changed (fresh process)", "seconds": round(out["seconds"], 2), "processed": summary["processed"],
            "reused": summary["reused"], "steps": {k: round(v, 2) for k, v in steps.items()}, "rss_peak_mb": 0.0,
            "worker_peak_mb": 0.0, "flow_seconds": flow_s, "process_seconds": round(process_s, 2),
            "imports_s": round(out["imports"], 2),
            "prefect_share": round(max(0.0, flow_s - ours) / flow_s, 3) if flow_s else None,
            "pool_busy_s": round(busy, 2), "pool_idle_s": round(max(0.0, slots - busy), 2)}


def floors_case(sample: int = 20) -> dict:
    """Per docx form and per PDF page: the extractor (+ rules) beside the raw parsers on the same files,
    each in its steady state (see ``per``)."""
    import io
    import zipfile

    import pdfplumber
    import pypdfium2
    from lxml import etree

    from formintake import pipeline
    from formintake.config import load_campaign
    from formintake.models import SourceInfo

    base = base_corpus() / "uploads"
    files = sorted(p for p in base.rglob("*") if p.is_file())
    docx = [p.read_bytes() for p in files if p.suffix == ".docx"][:sample]
    pdfs = [p.read_bytes() for p in files if p.suffix == ".pdf"][:sample]

    first_pass: dict[str, float] = {}

    def per(fn, items, name: str = "") -> float:
        """Median over the documents of each one's best of three, after a pass over all of them: a
        worker's steady state (it reads hundreds of documents; caches and lazily loaded tables are warm
        after the first few). The first pass (one document of warm-up, each timed once: how this was
        measured before) is kept under ``first_pass``."""
        fn(items[0])
        times = []
        for it in items:
            t0 = time.perf_counter()
            fn(it)
            times.append(time.perf_counter() - t0)
        if name:
            first_pass[name] = round(statistics.median(times) * 1000, 2)
        best = [min(_timed(fn, it) for _ in range(3)) for it in items]
        return statistics.median(best) * 1000

    def zip_lxml(data: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            root = etree.fromstring(z.read("word/document.xml"))
        "".join(root.itertext())

    def pdfium_text(data: bytes) -> None:
        doc = pypdfium2.PdfDocument(data)
        try:
            for page in doc:
                tp = page.get_textpage()
                tp.get_text_range()
                tp.close()
                page.close()
        finally:
            doc.close()

    def plumber(data: bytes) -> None:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                page.extract_text()
                page.extract_tables()
                page.close()

    campaign = load_campaign("2023")
    source = SourceInfo(key="江苏省/x", size=1, uploaded_at="2023-08-20T00:00:00Z", recommender_path="江苏省")

    def extractor(name: str):  # what a worker does per document: extract, rules, record
        return lambda data: pipeline.check_document(data, name, campaign, source)

    pages = len(pypdfium2.PdfDocument(pdfs[0]))
    out = {
        "pdf_pages": pages,
        "docx_form_ms": {"extractor": round(per(extractor("x.docx"), docx, "docx form"), 2),
                         "zip+lxml": round(per(zip_lxml, docx), 2)},
        "pdf_page_ms": {"extractor": round(per(extractor("x.pdf"), pdfs, "PDF page") / pages, 2),
                        "pypdfium2 text": round(per(pdfium_text, pdfs) / pages, 2),
                        "pdfplumber text+tables": round(per(plumber, pdfs[:5]) / pages, 2)},
    }
    first_pass["PDF page"] = round(first_pass["PDF page"] / pages, 2)
    out["first_pass_ms"] = first_pass
    return out


def _timed(fn, item) -> float:
    t0 = time.perf_counter()
    fn(item)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- the table


def _ms(x) -> str:
    return "" if x is None else f"{x} ms"


def _load(case: dict) -> str:
    return "{:.1f}–{:.1f}".format(*case["load"]) if case.get("load") else ""


def _fmt_s(x) -> str:
    return "" if x is None else f"{x:.2f}"


def print_tables(results: dict, table) -> None:
    rows = []
    for case in results.get("local", []) + results.get("s3", []):
        where = "check (local)" if "dask" not in case else ("flow+S3+Dask" if case["dask"] else "flow+S3")
        for r in case["runs"]:
            rows.append([f"{where} {case['n']:,}", r["run"], f"{r['processed']}/{r['reused']}", _fmt_s(r["seconds"]),
                         _fmt_s(r.get("flow_seconds")),
                         *[_fmt_s(r["steps"].get(s)) for s in STEPS],
                         "" if r.get("prefect_share") is None else f"{r['prefect_share'] * 100:.0f} %",
                         f"{r['rss_peak_mb']:.0f}" if r["rss_peak_mb"] else "", f"{r['worker_peak_mb']:.0f}" if r["rss_peak_mb"] else "",
                         "{:.1f}–{:.1f}".format(*case["load"]) if case.get("load") else ""])
    if rows:
        print(table(rows, ["case", "run", "new/reused", "wall s", "flow s", *STEPS, "prefect",
                           "RSS MB", "worker MB", "load"]))
    use = [[f"{'flow+S3+Dask' if c['dask'] else 'flow+S3'} {c['n']:,}", r["run"], _fmt_s(r.get("flow_cpu_s")),
            _fmt_s(r.get("worker_cpu_s")), _fmt_s(r.get("s3_cpu_s")), _fmt_s(r.get("servers_cpu_s")), _fmt_s(r.get("others_cpu_s")),
            _fmt_s(r.get("pool_busy_s")), _fmt_s(r.get("pool_idle_s")),
            "" if r.get("pool_idle_share") is None else f"{r['pool_idle_share'] * 100:.0f} %",
            str(r.get("state_objects", "")), _load(c)]
           for c in results.get("s3", []) for r in c["runs"] if "pool_busy_s" in r]
    if use:
        print()
        print(table(use, ["case", "run", "flow process CPU s", "workers CPU s",
                          "SeaweedFS CPU s", "Prefect server CPU s", "others' CPU s", "pool busy s", "pool idle s",
                          "idle share", "state objects", "load"]))
    html = [[f"{c['n']:,} (run)", "", f"{c['html']['html_mb']} MB", f"{c['html']['open_ms']} ms",
             f"{c['html']['filter_ms']} ms", _ms(c["html"].get("next_page_ms")), _load(c)]
            for c in results.get("local", []) if c.get("html")]
    html += [[f"{c['n']:,} (copies)", f"{c['write_s']:.2f} s", f"{c.get('html_mb', '?')} MB", _ms(c.get("open_ms")),
              _ms(c.get("filter_ms")), _ms(c.get("next_page_ms")), _load(c)] for c in results.get("report", [])]
    if html:
        print()
        print(table(html, ["exceptions.html", "written in", "size", "open (load + first frame)", "filter by unit",
                           "next page", "load"]))
    f = results.get("floors")
    if f:
        print()
        rows = []
        for label, key, target in (("docx form", "docx_form_ms", 6.0), ("PDF page", "pdf_page_ms", 8.0)):
            ours, *floors = f[key].items()
            rows.append([label, f"{ours[1]:.2f} ms", f"≤ {target:g} ms {'met' if ours[1] <= target else 'NOT met'}",
                         *[f"{k} {v:.2f} ms" for k, v in floors]])
        rows = [r + [""] * (5 - len(r)) for r in rows]
        print(table(rows, ["per", "ours (extract + rules + record)", "target", "floor", "floor 2"]))
        if f.get("first_pass_ms"):
            print("ours on a first pass in a fresh process (1 document of warm-up, each timed once): " + ", ".join(
                f"{k} {v:.2f} ms" for k, v in f["first_pass_ms"].items()))
        if f.get("load"):
            print("floors measured at load {:.1f}–{:.1f}".format(*f["load"]))
    linear = [c for c in results.get("local", []) if c["runs"]]
    if len(linear) > 1:  # seconds per 1,000 uploads by step: a superlinear step grows along its row
        print()
        rows = []
        for run in ("first run", "1 changed"):
            for step in (*STEPS, "wall"):
                cells = []
                for c in linear:
                    r = next((r for r in c["runs"] if r["run"] == run), None)
                    v = None if r is None else (r["seconds"] if step == "wall" else r["steps"].get(step))
                    cells.append("" if v is None else f"{v * 1000 / c['n']:.2f}")
                rows.append([run, step, *cells])
            rows.append([run, "RSS MB", *[f"{next((r['rss_peak_mb'] for r in c['runs'] if r['run'] == run), 0):.0f}"
                                          for c in linear]])
        print(table(rows, ["run", "seconds per 1,000 uploads", *[f"{c['n']:,}" for c in linear]]))


def corpus_digest() -> str:
    base = base_corpus() / "uploads"
    h = hashlib.sha256()
    for p in sorted(base.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(base).as_posix().encode() + hashlib.md5(p.read_bytes()).digest())
    return h.hexdigest()[:16]


def main(args, in_child, table) -> int:
    import datetime as dt

    started = time.perf_counter()
    base_corpus()
    results: dict = {"when": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
                     "cpus": os.cpu_count(), "load_before": os.getloadavg(), "corpus": corpus_digest(),
                     "local": [], "s3": []}

    def save() -> None:  # after every case: a long run that is stopped keeps what it measured
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def case(fn, *a, **kw) -> dict:  # the load average (1 min) before and after, next to every number
        before = os.getloadavg()[0]
        out = in_child(fn, *a, **kw)
        out["load"] = [round(before, 2), round(os.getloadavg()[0], 2)]
        return out

    if args.floors:
        print("bench: raw parser floors …", file=sys.stderr)
        results["floors"] = case(floors_case)
        save()
    for n in args.sizes:
        results["local"].append(case(local_case, n, timeout=3600))
        save()
    for n in getattr(args, "report", None) or []:
        print(f"bench: exceptions.html of {n:,} applications …", file=sys.stderr)
        results.setdefault("report", []).append(case(report_case, n, timeout=1800))
        save()
    if args.s3:
        results["s3"].append(case(s3_flow_case, args.s3_size, False, timeout=3600))
        save()
    if args.dask:
        results["s3"].append(case(s3_flow_case, args.s3_size, True, timeout=3600))
        save()
    results["load_after"] = os.getloadavg()
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    print_tables(results, table)
    print(f"\nload average before {results['load_before'][0]:.2f}, after {results['load_after'][0]:.2f} "
          f"({os.cpu_count()} cores); {results['bench_seconds']} s")
    save()
    if args.out:
        print(f"written {args.out}")
    return 0
