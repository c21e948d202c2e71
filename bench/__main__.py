"""``python -m bench [--repeat N] [--out bench/results.json]``: see bench/__init__.py.

Each measurement runs in a fresh interpreter (multiprocessing "spawn"), so its peak RSS
(``resource.getrusage().ru_maxrss``) belongs to that measurement alone; ``tracemalloc`` gives the peak of
Python allocations during the measured call (pdfium's C allocations show only in RSS).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.cases import _campaign_case, _child_main, _extract_case

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _in_child(fn, *args, timeout: float = 900):  # noqa: D401
    """Run fn(*args) in a fresh interpreter; its peak RSS is its own. A plain (non-daemonic) Process:
    the pipeline starts extraction worker processes of its own, which a Pool's daemonic workers may not."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(child, fn, args))
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise TimeoutError(f"{fn.__name__} did not finish in {timeout:.0f}s")
        status, value = parent.recv()
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.kill()
            proc.join()
    if status != "ok":
        raise RuntimeError(f"{fn.__name__}{args} failed in the child:\n{value}")
    return value


# --------------------------------------------------------------------------- formintake check (subprocess)


def _check_case(src: Path, out: Path) -> dict:
    exe = Path(sys.executable).parent / "formintake"
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "formintake.cli"]),
           "check", str(src), "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child alone
    seconds = time.perf_counter() - t0
    stdout, stderr = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    proc.stdout.close(), proc.stderr.close()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "case": "formintake check (demo batch)",
        "command": "formintake check DIR --out OUT",
        "exit": proc.returncode,
        "seconds": round(seconds, 2),
        "rss_peak_mb": round(usage.ru_maxrss / 1024, 1),
        "stderr_tail": stderr.decode("utf-8", "replace").strip().splitlines()[-3:] if proc.returncode else [],
        "out_files": sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
                            and "/latest/" in p.as_posix()),
    }


# --------------------------------------------------------------------------- main


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed extractions per document (default 5)")
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default bench/results.json; "
                    "bench/scale-results.json with --scale)")
    ap.add_argument("--scale", action="store_true", help="the pipeline at 1k/3k/10k uploads (bench/scale.py)")
    ap.add_argument("--sizes", default="1000,3000,10000", help="--scale: uploads per case (multiples of 1000, or fewer than 1000)")
    ap.add_argument("--s3", action="store_true", help="--scale: also 1,000 through S3 + the Prefect flow")
    ap.add_argument("--dask", action="store_true", help="--scale: also 1,000 through S3 + flow on a LocalCluster")
    ap.add_argument("--s3-size", type=int, default=1000, help="--scale: uploads for --s3 / --dask (default 1000)")
    ap.add_argument("--floors", action="store_true", help="--scale: raw parser times beside the extractor")
    ap.add_argument("--report", default="", help="--scale: exceptions.html of N[,N] applications opened in headless "
                    "Chromium (the 1,000 forms' records copied; e.g. --sizes '' --report 10000)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.scale:
        from bench import scale

        args.sizes = [int(x) for x in args.sizes.split(",") if x]
        args.report = [int(x) for x in args.report.split(",") if x]
        args.out = args.out or HERE / "scale-results.json"
        return scale.main(args, _in_child, _table)
    args.out = args.out or HERE / "results.json"

    from formintake import __version__
    from formintake.samples import demo_batch, write_samples

    started = time.perf_counter()
    results: dict = {
        "when": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "formintake": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "extract": [],
    }
    for fmt in ("docx", "pdf"):
        for direction in ("experience_center", "platform"):
            for mode in ("pipeline", "in-process"):
                print(f"bench: extract {fmt} {direction} {mode} …", file=sys.stderr)
                results["extract"].append(_in_child(_extract_case, fmt, direction, 1, args.repeat, mode))

    tmp = Path(tempfile.mkdtemp(prefix="formintake-bench-"))
    try:
        src = tmp / "uploads"
        samples = demo_batch()
        write_samples(src, samples)
        results["demo_batch"] = {"files": len(samples), "bytes": sum(len(s.data) for s in samples)}
        print(f"bench: formintake check over the demo batch ({len(samples)} files) …", file=sys.stderr)
        results["check"] = _check_case(src, tmp / "check-out")
        print("bench: run_campaign run 1 / run 2 …", file=sys.stderr)
        results["run_campaign"] = _in_child(_campaign_case, str(src), str(tmp / "campaign-out"))["runs"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)

    rows = [[e["case"], f"{e['bytes'] / 1024:.0f} KiB", f"{e['median_ms']:.0f} ms", f"{e['first_ms']:.0f} ms",
             f"{e['py_peak_mb']:.1f} MB", f"{e['rss_peak_mb']:.0f} MB", f"{e['rss_children_peak_mb']:.0f} MB"]
            for e in results["extract"]]
    print(_table(rows, ["per document", "size", "median", "first call", "py peak", "RSS peak", "children RSS"]))
    print()
    c = results["check"]
    rows = [[c["case"], f"{results['demo_batch']['files']} files", f"{c['seconds']:.2f} s", f"exit {c['exit']}",
             f"{c['rss_peak_mb']:.0f} MB"]]
    for r in results["run_campaign"]:
        rows.append([r["case"], f"{r['processed']} new / {r['reused']} reused", f"{r['seconds']:.2f} s", "",
                     f"{r['rss_peak_mb']:.0f} MB (children {r['rss_children_peak_mb']:.0f} MB)"])
    print(_table(rows, ["whole runs", "documents", "wall", "", "RSS peak"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {args.out} ({results['bench_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
