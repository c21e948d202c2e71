"""``python -m bench.ocr`` (``./run bench --ocr``): OCR engines and resolutions on the same simulated scans.

For each engine (RapidOCR, the runtime engine; Tesseract ``chi_sim`` from Debian, the comparison) and
each resolution, a fresh interpreter (one extraction worker: one ORT thread) reads the same scanned
forms (formintake/samples/scan.py: red seals, ±2° skew, blur, noise, uneven light, dark edge, JPEG) and
reports field accuracy against the forms' truth, checkbox state accuracy, seconds per page split into
render / prepare (edges, colour, orientation, deskew) / detect (text boxes, also used for orientation)
/ recognise / layout (ruling lines, checkboxes, seals, cells), and the worker's peak RSS.

With Tesseract the text boxes and orientation still come from RapidOCR's detector (the page is
prepared the same way for both); Tesseract's own layout analysis and recognition are in "recognise".
The "pool" case reads the same scans as ``formintake check`` does: in the extraction pool (two worker
processes here), one OCR task a page, each page in whichever worker is free; it reports seconds per form
(wall), the pages' own seconds, how many workers read pages, and each worker's peak RSS.

The machine's load average is recorded before and after every case (the numbers mean little without it
on a shared machine). Writes bench/ocr_results.json and prints a Markdown table (docs/ocr.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench.__main__ import _in_child  # a fresh interpreter per case: its peak RSS is its own

HERE = Path(__file__).resolve().parent
FORMS = (("platform", 3, "■"), ("experience_center", 5, "☑"))


def _accuracy(form, truth: dict) -> tuple[int, int]:
    return sum(form.value(k) == v for k, v in truth.items()), len(truth)


def ocr_case(engine: str, dpi: int, grayscale: bool, stamped: bool, forms: int) -> dict:
    """One engine at one resolution over the benchmark forms, in this (fresh) process."""
    import resource

    os.environ["FORMINTAKE_OCR_ENGINE"] = engine
    os.environ.setdefault("FORMINTAKE_OCR_THREADS", "1")
    from formintake.extractors.assemble import assemble
    from formintake.extractors.ocr import engine as load_engine
    from formintake.extractors.pdf import read_pdf
    from formintake.samples import RenderStyle, base_values, render_pdf, truth_of
    from formintake.samples.scan import SEAL_BLOCKS, ScanStyle, checkbox_states, scan_pdf

    t = time.perf_counter()
    load_engine()
    load_s = time.perf_counter() - t
    scans = []
    for direction, seed, tick in FORMS[:forms]:
        v = base_values(direction, seed)
        style = ScanStyle(dpi=dpi, grayscale=grayscale, skew=1.5, seals=SEAL_BLOCKS if stamped else ())
        scans.append((scan_pdf(render_pdf(v, RenderStyle(tick=tick)), style, seed), truth_of(v)))
    stages: dict[str, float] = {}
    ok = n = box_ok = box_n = pages = 0
    wall = 0.0
    wrong: list[str] = []
    for data, truth in scans:
        t = time.perf_counter()
        layout = read_pdf(data)
        form = assemble(layout, "scan.pdf")
        wall += time.perf_counter() - t
        pages += len(layout.scans)
        for s in layout.scans:
            for k, sec in s.timings.items():
                stages[k] = stages.get(k, 0.0) + sec
        a, b = _accuracy(form, truth)
        ok, n = ok + a, n + b
        wrong += [k for k, v in truth.items() if form.value(k) != v]
        a, b = checkbox_states(form, truth)
        box_ok, box_n = box_ok + a, box_n + b
    return {
        "engine": engine, "dpi": dpi, "grayscale": grayscale, "stamped": stamped, "forms": len(scans),
        "pages": pages, "fields_right": ok, "fields": n, "field_accuracy": round(ok / n, 4),
        "checkbox_accuracy": round(box_ok / box_n, 4) if box_n else None,
        "s_per_page": round(wall / pages, 2), "s_per_form": round(wall / len(scans), 2),
        "stages_s_per_page": {k: round(v / pages, 2) for k, v in stages.items()},
        "engine_load_s": round(load_s, 2), "wrong_fields": wrong,
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def pool_case(dpi: int, forms: int, workers: int = 2) -> dict:
    """The scans read as the pipeline reads them: in the extraction pool, one OCR task a page."""
    from formintake.extractors.isolated import IsolatedExtractor
    from formintake.samples import RenderStyle, base_values, render_pdf, truth_of
    from formintake.samples.scan import SEAL_BLOCKS, ScanStyle, checkbox_states, scan_pdf

    scans = []
    for direction, seed, tick in FORMS[:forms]:
        v = base_values(direction, seed)
        style = ScanStyle(dpi=dpi, skew=1.5, seals=SEAL_BLOCKS)
        scans.append((scan_pdf(render_pdf(v, RenderStyle(tick=tick)), style, seed), truth_of(v)))
    ok = n = box_ok = box_n = pages = 0
    wall = page_s = 0.0
    used: set[int] = set()
    stages: dict[str, float] = {}
    with IsolatedExtractor(workers=workers) as ex:
        for data, truth in scans:
            t = time.perf_counter()
            form = ex.extract(data, "scan.pdf", size_limit_bytes=50 * 2**20, timeout_s=600, ocr_page_timeout_s=600)
            wall += time.perf_counter() - t
            pages += len(form.ocr_pages)
            for p in form.ocr_pages:
                used.add(p["worker"])
                page_s += p["seconds"]
                for k in ("render", "prepare", "detect", "recognise", "layout"):
                    stages[k] = stages.get(k, 0.0) + p.get(k, 0.0)
            a, b = _accuracy(form, truth)
            ok, n = ok + a, n + b
            a, b = checkbox_states(form, truth)
            box_ok, box_n = box_ok + a, box_n + b
        rss = []
        for pid in ex.worker_pids():
            try:
                for line in open(f"/proc/{pid}/status", encoding="ascii"):
                    if line.startswith("VmHWM:"):
                        rss.append(round(int(line.split()[1]) / 1024, 1))
            except OSError:
                pass
    return {
        "engine": f"rapidocr, pool of {workers}", "dpi": dpi, "grayscale": False, "stamped": True,
        "forms": len(scans), "pages": pages, "fields_right": ok, "fields": n, "field_accuracy": round(ok / n, 4),
        "checkbox_accuracy": round(box_ok / box_n, 4) if box_n else None,
        "s_per_page": round(page_s / pages, 2), "s_per_form": round(wall / len(scans), 2),
        "stages_s_per_page": {k: round(v / pages, 2) for k, v in stages.items()},
        "workers_used": len(used), "rss_peak_mb": max(rss) if rss else 0.0, "rss_peak_mb_workers": rss,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ocr", description=__doc__.splitlines()[0])
    ap.add_argument("--dpi", type=int, nargs="+", default=[150, 200, 300])
    ap.add_argument("--engines", nargs="+", default=["rapidocr", "tesseract"])
    ap.add_argument("--forms", type=int, default=2, help="scanned forms per case (3 pages each)")
    ap.add_argument("--out", type=Path, default=HERE / "ocr_results.json")
    ap.add_argument("--no-pool", dest="pool", action="store_false", help="skip the extraction-pool case")
    ap.add_argument("--only", nargs="+", help="cases to run, e.g. rapidocr-300-colour rapidocr-150-gray pool")
    args = ap.parse_args(argv)
    engines = [e for e in args.engines if e != "tesseract" or _has_tesseract()]
    # the engines side by side at each resolution, the middle one first (a run cut short still compares)
    order = sorted(args.dpi, key=lambda d: (d != 200, d))
    cases = [(e, d, False, True, args.forms) for d in order for e in engines]
    if "rapidocr" in engines:  # grayscale: unstamped, and stamped (a seal turns into dark ink over the text)
        cases += [("rapidocr", 150, True, False, args.forms), ("rapidocr", 200, True, True, args.forms)]
    if args.only:
        cases = [c for c in cases if f"{c[0]}-{c[1]}-{'gray' if c[2] else 'colour'}" in args.only]
    results = {
        "when": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "platform": platform.platform(), "cpus": os.cpu_count(),
        "load_before": _uptime(), "cases": [],
    }
    runs = [(ocr_case, c) for c in cases]
    if "rapidocr" in engines and args.pool and (not args.only or "pool" in args.only):
        runs.append((pool_case, (200, args.forms)))
    for fn, c in runs:
        print(f"bench.ocr: {fn.__name__} {c} …", file=sys.stderr)
        before = _load()
        case = _in_child(fn, *c, timeout=1800)
        case["load"] = [before, _load()]
        results["cases"].append(case)
        results["load_after"] = _uptime()
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(markdown(results))
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {args.out}")
    return 0


def markdown(results: dict) -> str:
    head = ("| engine | dpi | scan | fields right | checkboxes | s/page | render | prepare | detect | recognise "
            "| layout | s/form | peak RSS | load |")
    rows = [head, "|" + "---|" * 14]
    for c in results["cases"]:
        st = c["stages_s_per_page"]
        scan = ("gray" if c["grayscale"] else "colour") + (", stamped" if c["stamped"] else "")
        rows.append(
            f"| {c['engine']} | {c['dpi']} | {scan} | {c['fields_right']}/{c['fields']} ({c['field_accuracy']:.1%}) "
            f"| {c['checkbox_accuracy']:.1%} | {c['s_per_page']:.1f} | {st.get('render', 0):.2f} "
            f"| {st.get('prepare', 0):.2f} | {st.get('detect', 0):.2f} | {st.get('recognise', 0):.2f} "
            f"| {st.get('layout', 0):.2f} | {c['s_per_form']:.1f} | {c['rss_peak_mb']:.0f} MB "
            f"| {'–'.join(f'{x:.1f}' for x in c.get('load', []))} |")
    return "\n".join(rows)


def _has_tesseract() -> bool:
    try:
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        print("bench.ocr: tesseract not installed, skipped", file=sys.stderr)
        return False
    return b"chi_sim" in out.stdout + out.stderr


def _load() -> float:
    """The one-minute load average."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return -1.0


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
