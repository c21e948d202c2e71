"""``python -m bench.ocr`` (``./run bench --ocr``): OCR engines and resolutions on the same simulated scans.

For each engine (RapidOCR, the runtime engine; Tesseract ``chi_sim`` from Debian, the comparison) and
each resolution, a fresh interpreter (one extraction worker: one ORT thread) reads the same scanned
forms (formintake/samples/scan.py: red seals, ±2° skew, blur, noise, uneven light, dark edge, JPEG) and
reports field accuracy against the forms' truth, checkbox state accuracy, seconds per page split into
render / prepare (edges, colour, orientation, deskew) / detect (text boxes, also used for orientation)
/ recognise / layout (ruling lines, checkboxes, seals, cells), and the worker's peak RSS.

With Tesseract the text boxes and orientation still come from RapidOCR's detector (the page is
prepared the same way for both); Tesseract's own layout analysis and recognition are in "recognise".
Writes bench/ocr_results.json and prints a Markdown table (docs/ocr.md).
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
        a, b = checkbox_states(form, truth)
        box_ok, box_n = box_ok + a, box_n + b
    return {
        "engine": engine, "dpi": dpi, "grayscale": grayscale, "stamped": stamped, "forms": len(scans),
        "pages": pages, "fields_right": ok, "fields": n, "field_accuracy": round(ok / n, 4),
        "checkbox_accuracy": round(box_ok / box_n, 4) if box_n else None,
        "s_per_page": round(wall / pages, 2), "s_per_form": round(wall / len(scans), 2),
        "stages_s_per_page": {k: round(v / pages, 2) for k, v in stages.items()},
        "engine_load_s": round(load_s, 2),
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ocr", description=__doc__.splitlines()[0])
    ap.add_argument("--dpi", type=int, nargs="+", default=[150, 200, 300])
    ap.add_argument("--engines", nargs="+", default=["rapidocr", "tesseract"])
    ap.add_argument("--forms", type=int, default=2, help="scanned forms per case (3 pages each)")
    ap.add_argument("--out", type=Path, default=HERE / "ocr_results.json")
    args = ap.parse_args(argv)
    engines = [e for e in args.engines if e != "tesseract" or _has_tesseract()]
    # the engines side by side at each resolution, the middle one first (a run cut short still compares)
    order = sorted(args.dpi, key=lambda d: (d != 200, d))
    cases = [(e, d, False, True, args.forms) for d in order for e in engines]
    if "rapidocr" in engines:  # grayscale: unstamped, and stamped (a seal turns into dark ink over the text)
        cases += [("rapidocr", 150, True, False, args.forms), ("rapidocr", 200, True, True, args.forms)]
    results = {
        "when": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "platform": platform.platform(), "cpus": os.cpu_count(),
        "load_before": _uptime(), "cases": [],
    }
    for c in cases:
        print(f"bench.ocr: {c[0]} {c[1]} dpi {'gray' if c[2] else 'colour'} {'stamped' if c[3] else ''} …",
              file=sys.stderr)
        results["cases"].append(_in_child(ocr_case, *c, timeout=1800))
        results["load_after"] = _uptime()
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(markdown(results))
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {args.out}")
    return 0


def markdown(results: dict) -> str:
    head = ("| engine | dpi | scan | fields right | checkboxes | s/page | render | prepare | detect | recognise "
            "| layout | s/form | peak RSS |")
    rows = [head, "|" + "---|" * 13]
    for c in results["cases"]:
        st = c["stages_s_per_page"]
        scan = ("gray" if c["grayscale"] else "colour") + (", stamped" if c["stamped"] else "")
        rows.append(
            f"| {c['engine']} | {c['dpi']} | {scan} | {c['fields_right']}/{c['fields']} ({c['field_accuracy']:.1%}) "
            f"| {c['checkbox_accuracy']:.1%} | {c['s_per_page']:.1f} | {st.get('render', 0):.2f} "
            f"| {st.get('prepare', 0):.2f} | {st.get('detect', 0):.2f} | {st.get('recognise', 0):.2f} "
            f"| {st.get('layout', 0):.2f} | {c['s_per_form']:.1f} | {c['rss_peak_mb']:.0f} MB |")
    return "\n".join(rows)


def _has_tesseract() -> bool:
    try:
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        print("bench.ocr: tesseract not installed, skipped", file=sys.stderr)
        return False
    return b"chi_sim" in out.stdout + out.stderr


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
