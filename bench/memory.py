"""Peak memory per process for big uploads through S3 (SeaweedFS) and the Prefect flow (issue 8).

    .venv/bin/python -m bench.memory [--big-mb 45] [--huge-mb 300] [--many 0] [--cases run,check]
                                     [--out bench/memory-results.json]

Writes a batch to a real local S3 server (SeaweedFS, :class:`formintake.s3server.LocalS3`): a good form,
a 45 MB docx (a good form carrying a 44 MB photo), a 45 MB PDF (a good form with 44 MB after ``%%EOF``)
and a ~300 MB file (over the 50 MB limit: judged from the listing, never read); ``--many N`` adds N more
45 MB docx to fill every extraction worker's window. Each case runs in a fresh process:

``run``    ``formintake run`` (the Prefect flow, its temporary local Prefect server, extraction in the
           isolated worker processes), reading the uploads from S3;
``check``  ``formintake check`` over the same files in a local folder (the local path, for comparison).

A sampler thread in that process reads ``VmHWM`` (the kernel's peak resident set) of the process and of
every descendant every 0.1 s, so the flow process, each extraction worker, the forkserver and the Prefect
server are reported apart. The issue's bound: peak RSS for a single upload under 2 × the size limit +
200 MB (300 MB with the 2023 campaign's 50 MB). Not a timed test; numbers go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the temporary Prefect server's database, migrated once and kept between runs of this benchmark
PREFECT_HOME = Path(tempfile.gettempdir()) / "formintake-bench-memory-prefect"

PROBE = r"""
import json, os, sys, threading, time

def _status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                k, _, v = line.partition(":")
                out[k] = v.strip()
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            out["cmdline"] = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None
    return out

def _kind(st, parent_kind):
    cmd = st["cmdline"]
    if "forkserver" in cmd:
        return "extraction worker" if parent_kind == "forkserver" else "forkserver"
    if "prefect" in cmd or "uvicorn" in cmd:
        return "prefect server"
    if "resource_tracker" in cmd:
        return "resource tracker"
    return "other: " + cmd[:60]

peaks = {}
stop = threading.Event()

def sample():
    me = os.getpid()
    while True:
        kinds = {me: "flow process"}
        children = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = _status(int(name))
                if st:
                    children.setdefault(int(st.get("PPid", "0")), []).append((int(name), st))
        todo = [me]
        while todo:
            pid = todo.pop()
            for cpid, st in children.get(pid, []):
                kinds[cpid] = _kind(st, kinds[pid])
                todo.append(cpid)
                hwm = int(st.get("VmHWM", "0 kB").split()[0]) / 1024
                p = peaks.setdefault(cpid, {"kind": kinds[cpid], "peak_mb": 0.0})
                p["peak_mb"] = max(p["peak_mb"], hwm)
        if stop.wait(0.1):
            return

t = threading.Thread(target=sample, daemon=True)
t.start()
from formintake.cli import main
t0 = time.perf_counter()
rc = main(sys.argv[1:])
seconds = time.perf_counter() - t0
stop.set(); t.join()
own = int(_status(os.getpid())["VmHWM"].split()[0]) / 1024
by_kind = {}
for p in peaks.values():
    by_kind.setdefault(p["kind"], []).append(round(p["peak_mb"], 1))
print("MEMORY-PROBE " + json.dumps({"rc": rc, "seconds": round(seconds, 1), "flow_process_mb": round(own, 1),
                                    "descendants_mb": by_kind}))
"""


def _docx_with_photo(base: bytes, mb: int) -> bytes:
    """A good form docx plus an incompressible ``mb`` MB image part (what a pasted photo makes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr(zipfile.ZipInfo("word/media/image99.jpeg"), os.urandom(mb << 20), compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def _with_tail(base: bytes, mb: int) -> bytes:
    return base + b"\n" + os.urandom(mb << 20)


def build_batch(big_mb: int, huge_mb: int, many: int) -> dict[str, bytes]:
    from formintake.samples import base_values, build_sample

    provinces = ["江苏省", "浙江省", "广东省", "山东省", "福建省", "湖北省", "湖南省", "河南省", "四川省", "安徽省"]
    good = build_sample(base_values("platform", 800, province=provinces[0]))
    d = build_sample(base_values("platform", 801, province=provinces[1]))
    p = build_sample(base_values("platform", 802, province=provinces[2]), fmt="pdf")
    files = {
        good.path: good.data,
        d.path: _docx_with_photo(d.data, big_mb - 1),
        p.path: _with_tail(p.data, big_mb - 1),
        f"{provinces[3]}/扫描件合集.pdf": b"%PDF-1.4\n" + os.urandom(huge_mb << 20),
    }
    for i in range(many):
        s = build_sample(base_values("platform", 810 + i, province=provinces[4 + i % 6]))
        files[f"{s.recommender_path}/附件{i}-{s.name}"] = _docx_with_photo(s.data, big_mb - 1)
    return files


def _probe(args: list[str], env: dict[str, str], cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=cwd, capture_output=True, text=True,
                         timeout=1800)
    line = next((x for x in out.stdout.splitlines() if x.startswith("MEMORY-PROBE ")), None)
    probe = json.loads(line[len("MEMORY-PROBE "):]) if line else None
    if probe is None or probe["rc"] != 0:
        raise RuntimeError(f"probe failed ({out.returncode}, {probe}):\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return probe


def _statuses(records: list[dict]) -> dict[str, list[str]]:
    return {r["source"]["key"]: [r["status"], *sorted({f["code"] for f in r["findings"]})] for r in records}


def case_run(files: dict[str, bytes], work: Path) -> dict:
    from formintake.s3server import LocalS3
    from formintake.storage.s3 import S3Store

    with LocalS3(work / "s3") as s3:
        client = s3.client()
        uploads, results = S3Store(client, "bench-uploads"), S3Store(client, "bench-results")
        uploads.ensure_bucket(versioning=True)
        results.ensure_bucket()
        for key, data in files.items():
            uploads.put(f"2023/{key}", data)
        env = {**os.environ, **s3.env(), "FORMINTAKE_UPLOADS_BUCKET": uploads.bucket,
               "FORMINTAKE_RESULTS_BUCKET": results.bucket, "PREFECT_HOME": str(PREFECT_HOME)}
        env.pop("PREFECT_API_URL", None)
        try:
            probe = _probe(["run", "--campaign", "2023"], env, work)
        except RuntimeError as exc:  # the temporary Prefect server is slow to start on a loaded machine
            if "ephemeral Prefect API" not in str(exc):
                raise
            probe = _probe(["run", "--campaign", "2023"], env, work)
        recs = [json.loads(x) for x in results.get("records/2023/applications.jsonl").decode().splitlines() if x]
    probe["records"] = _statuses(recs)
    return probe


def case_check(files: dict[str, bytes], work: Path) -> dict:
    d = work / "in"
    for key, data in files.items():
        (d / key).parent.mkdir(parents=True, exist_ok=True)
        (d / key).write_bytes(data)
    probe = _probe(["check", str(d), "--out", str(work / "out")], dict(os.environ), work)
    recs = [json.loads(x) for x in (work / "out/records/2023/applications.jsonl").read_text("utf-8").splitlines() if x]
    probe["records"] = _statuses(recs)
    return probe


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    ap.add_argument("--big-mb", type=int, default=45, help="size of the big uploads under the limit (default 45)")
    ap.add_argument("--huge-mb", type=int, default=300, help="size of the upload over the limit (default 300)")
    ap.add_argument("--many", type=int, default=0, help="this many more big docx (fills the workers' window)")
    ap.add_argument("--cases", default="run,check", help="run (S3 + flow), check (local folder)")
    ap.add_argument("--out", type=Path, default=HERE / "memory-results.json")
    args = ap.parse_args(argv)

    from formintake.config import load_campaign

    limit = load_campaign("2023").thresholds.file_size_limit_mb
    files = build_batch(args.big_mb, args.huge_mb, args.many)
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": platform.platform(),
              "cpus": os.cpu_count(), "load_avg": os.getloadavg(), "bound_mb": 2 * limit + 200,
              "uploads_mb": {k: round(len(v) / 2**20, 1) for k, v in files.items()}, "cases": {}}
    for case in args.cases.split(","):
        with tempfile.TemporaryDirectory(prefix=f"bench-memory-{case}-") as tmp:
            result["cases"][case] = {"run": case_run, "check": case_check}[case](files, Path(tmp))
        print(case, json.dumps(result["cases"][case], ensure_ascii=False, indent=1), flush=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
