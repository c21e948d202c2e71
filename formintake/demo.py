"""`formintake demo`: a local S3 server when none is configured, the demo batch uploaded, one flow run,
the reports copied next to you and their paths printed; then everything it started is stopped."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from formintake.config import s3_settings
from formintake.keys import ResultKeys
from formintake.s3server import LocalS3
from formintake.samples import demo_batch
from formintake.storage.s3 import S3Store, make_client
from formintake.terminal import env_overrides, prefect_api, print_result, run_flow


@contextlib.contextmanager
def s3_for_demo(console):
    """Use the configured S3 server, or start SeaweedFS on loopback for the demo's lifetime."""
    if s3_settings().endpoint:
        console.print(f"使用已配置的 S3 服务 {s3_settings().endpoint}")
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="formintake-demo-s3-"))
    console.print("未配置 FORMINTAKE_S3_ENDPOINT：在 127.0.0.1 上启动本地 SeaweedFS S3 服务 …")
    server = LocalS3(tmp).start()
    try:
        with env_overrides(server.env()):
            console.print(f"S3 服务已启动：{server.endpoint}")
            yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        console.print("本地 S3 服务已停止")


def upload_demo_batch(campaign: str, console) -> int:
    s = s3_settings()
    client = make_client(s)
    uploads = S3Store(client, s.uploads_bucket)
    uploads.ensure_bucket(versioning=True)
    S3Store(client, s.results_bucket).ensure_bucket(versioning=False)
    samples = demo_batch()
    for smp in samples:
        ctype = "application/pdf" if smp.name.lower().endswith(".pdf") else \
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        uploads.put(f"{campaign}/{smp.recommender_path}/{smp.name}", smp.data, ctype)
    console.print(f"已上传 {len(samples)} 份示例申报书到 s3://{s.uploads_bucket}/{campaign}/")
    return len(samples)


def copy_reports(campaign: str, out_dir: Path) -> list[Path]:
    s = s3_settings()
    results = S3Store(make_client(s), s.results_bucket, s.results_prefix)
    keys = ResultKeys(campaign)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for key in results.list_keys(keys.latest_prefix) + results.list_keys(keys.records_file("applications.")):
        dest = out_dir / Path(key).name
        dest.write_bytes(results.get(key))
        written.append(dest)
    return written


def run_demo(out_dir: Path, console, campaign: str = "2023") -> int:
    with s3_for_demo(console), prefect_api(console):
        upload_demo_batch(campaign, console)
        summary = run_flow(campaign, False, console)
        s = s3_settings()
        print_result(console, summary, f"s3://{s.results_bucket}/{ResultKeys(campaign).run_reports_prefix(summary['run_id'])} 及 latest/"
                                        f"（用时 {summary['seconds']} 秒）")
        written = copy_reports(campaign, out_dir)
    console.print("报告已复制到本地（S3 服务停止后仍可打开）:")
    for p in written:
        print(p.resolve())
    return 0
