"""The measurements that run in a fresh interpreter (spawned by bench/__main__.py).

They live in a module of their own: a spawned child cannot import ``__main__`` of ``python -m bench``.
Peak RSS: ``rss_peak_mb`` is the measuring process; ``rss_children_peak_mb`` the largest of the
pipeline's isolated extraction workers (extractors.isolated; VmHWM from /proc, Linux).
"""

from __future__ import annotations

import resource
import statistics
import time
import tracemalloc


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def _close_isolated() -> float:
    """Close the pipeline's isolated extraction workers; return their peak RSS (VmHWM, MB), 0 if none.

    They are forkserver children, not ours, so getrusage(RUSAGE_CHILDREN) never sees them: read /proc."""
    peak = 0.0
    try:
        from formintake.extractors.isolated import shared_extractor

        ext = shared_extractor()
        pool = getattr(ext, "_pool", None)
        for proc in list(getattr(pool, "_processes", {}).values()) if pool else []:
            try:
                for line in open(f"/proc/{proc.pid}/status", encoding="ascii"):
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
            except OSError:
                pass
        ext.close()
    except Exception:  # noqa: BLE001 - older trees have no isolation
        pass
    return round(peak, 1)


def _child_main(conn, fn, args) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as exc:  # noqa: BLE001 - report it to the parent
        import traceback

        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def _extract_case(fmt: str, direction: str, seed: int, repeat: int, mode: str) -> dict:
    """mode "pipeline": pipeline.extract_and_check as the pipeline runs it (isolated worker process
    by default); mode "in-process": extractors.extract + the per-application rules in this process."""
    import os

    if mode == "in-process":
        os.environ["FORMINTAKE_ISOLATE"] = "0"
    from formintake import pipeline
    from formintake.config import load_campaign
    from formintake.samples import RenderStyle, base_values, render_docx, render_pdf

    campaign = load_campaign("2023")
    values = base_values(direction, seed)
    data = (render_docx if fmt == "docx" else render_pdf)(values, RenderStyle())
    name = f"bench-{direction}.{fmt}"
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    form, findings = pipeline.extract_and_check(data, name, campaign)  # first call: lazy imports, worker start
    first_ms = (time.perf_counter() - t0) * 1000
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        form, findings = pipeline.extract_and_check(data, name, campaign)
        times.append((time.perf_counter() - t0) * 1000)
    tracemalloc.start()
    pipeline.extract_and_check(data, name, campaign)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    workers_peak = _close_isolated()
    return {
        "case": f"extract {fmt} ({direction}, {mode})",
        "mode": mode,
        "bytes": len(data),
        "readable": form.readable,
        "fields_ok": sum(1 for fv in form.fields.values() if fv.state == "ok"),
        "findings": sorted({f.code for f in findings}),
        "first_ms": round(first_ms, 1),
        "median_ms": round(statistics.median(times), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
        "repeat": repeat,
        "py_peak_mb": round(py_peak / 2**20, 2),
        "rss_peak_mb": round(_rss_mb(), 1),
        "rss_growth_mb": round(_rss_mb() - rss_before, 1),
        "rss_children_peak_mb": max(workers_peak, round(_rss_mb(resource.RUSAGE_CHILDREN), 1)),
    }


def _campaign_case(src: str, out: str) -> dict:
    from formintake import pipeline
    from formintake.config import load_campaign
    from formintake.storage.local import LocalStore

    campaign = load_campaign("2023")
    uploads, results = LocalStore(src), LocalStore(out)
    runs = []
    for label in ("run 1 (all new)", "run 2 (no change)"):
        rss_before = _rss_mb()
        t0 = time.perf_counter()
        r = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
        runs.append({
            "case": f"run_campaign {label}",
            "seconds": round(time.perf_counter() - t0, 3),
            "processed": r.processed,
            "reused": r.reused,
            "counts": r.counts,
            "rss_peak_mb": round(_rss_mb(), 1),
            "rss_growth_mb": round(_rss_mb() - rss_before, 1),
        })
    workers_peak = _close_isolated()
    for r in runs:
        r["rss_children_peak_mb"] = max(workers_peak, round(_rss_mb(resource.RUSAGE_CHILDREN), 1))
    return {"runs": runs}
