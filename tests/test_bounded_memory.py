"""Bounded memory on any input (issue 8): the size comes from the listing (stat / S3 listing) before
anything is read, an object over the limit is FILE_TOO_LARGE without being read, and the peak RSS of a
whole `formintake check` stays under 2 × the size limit + 200 MB with real big files in the folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from formintake.config import load_campaign
from formintake.samples import base_values, build_sample

LIMIT_MB = load_campaign("2023").thresholds.file_size_limit_mb

PROBE = """
import json, resource, sys
from formintake.cli import main
rc = main(["check", sys.argv[1], "--out", sys.argv[2]])
peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"rc": rc, "peak_mb": peak_kb / 1024}))
"""


def _junk(path, mb: int, head: bytes = b"%PDF-1.4\n") -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        fh.write(head)
        for _ in range(mb):
            fh.write(block)


def test_peak_rss_with_big_uploads(tmp_path):
    d = tmp_path / "in"
    good = build_sample(base_values("platform", 510, province="江苏省"))
    (d / good.recommender_path).mkdir(parents=True)
    (d / good.path).write_bytes(good.data)
    over = int(2 * LIMIT_MB + 200) + 64  # reading it whole would break the bound by itself
    _junk(d / good.recommender_path / "扫描件合集.pdf", over)
    _junk(d / good.recommender_path / "接近上限.pdf", int(LIMIT_MB) - 5)  # read, hashed, sent to extraction
    env = {**os.environ, "FORMINTAKE_ISOLATE": "0"}  # extraction in this process: its memory is counted
    out = subprocess.run([sys.executable, "-c", PROBE, str(d), str(tmp_path / "out")], env=env,
                         capture_output=True, text=True, timeout=600)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["rc"] == 0, out.stderr[-2000:]
    print("peak RSS of check:", probe)
    assert probe["peak_mb"] < 2 * LIMIT_MB + 200, probe
    recs = {r["source"]["key"]: r for r in map(json.loads, (tmp_path / "out/records/2023/applications.jsonl")
                                               .read_text("utf-8").splitlines())}
    big = recs[f"{good.recommender_path}/扫描件合集.pdf"]
    assert [f["code"] for f in big["findings"]] == ["FILE_TOO_LARGE"] and big["source"]["sha256"] is None
    assert big["source"]["size"] > over * 2**20
    near = recs[f"{good.recommender_path}/接近上限.pdf"]
    assert near["source"]["sha256"] and "FILE_TOO_LARGE" not in [f["code"] for f in near["findings"]]
    assert recs[good.path]["status"] == "accepted"
