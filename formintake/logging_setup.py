"""Logging: personal data (phones, e-mails, ID numbers) is masked in every formintake log line."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from formintake.settings import load_settings


class MaskPII(logging.Filter):
    """Masks phone numbers, e-mails and ID numbers in the formatted message of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        from formintake.reports.masking import mask_pii  # deferred: the reports package loads openpyxl and jinja2

        try:
            msg = record.getMessage()
        except Exception:
            return True
        masked = mask_pii(msg)
        if masked != msg:
            record.msg, record.args = masked, ()
        return True


def install_mask_filter(logger: logging.Logger) -> None:
    if not any(isinstance(f, MaskPII) for f in logger.filters):
        logger.addFilter(MaskPII())


class ShortTracebacks(logging.Formatter):
    """Console formatter: an exception is one line (type and message) plus where the full traceback is.

    Third-party tracebacks (Prefect's, httpx's, sqlite's …) do not help someone reading a terminal;
    the log file keeps them whole. Wraps the handler's own formatter (Prefect's console formatter too).
    """

    def __init__(self, inner: logging.Formatter | None, where: str) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.where = where

    def format(self, record: logging.LogRecord) -> str:
        if not record.exc_info:
            return self.inner.format(record)
        saved = record.exc_info, record.exc_text, record.stack_info
        exc = record.exc_info[1]
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return f"{self.inner.format(record)} [{type(exc).__name__}: {exc}; traceback in {self.where}]"
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def log_file_path() -> Path:
    """``$FORMINTAKE_LOG_FILE``, else ``~/.formintake/formintake.log``."""
    configured = load_settings().log_file
    return Path(configured).expanduser() if configured else Path.home() / ".formintake" / "formintake.log"


def setup_logging() -> None:
    """Console: formintake's messages at FORMINTAKE_LOG_LEVEL (default WARNING), exceptions as one line.
    Log file (:func:`log_file_path`): INFO and above from every library, tracebacks whole. Masked."""
    level = load_settings().log_level.upper()
    root = logging.getLogger()
    if any(getattr(h, "_formintake", False) for h in root.handlers):
        return
    path = log_file_path()
    file_handler: logging.Handler | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    except OSError:  # a read-only home: console only
        path = Path("(no log file)")
    handler = logging.StreamHandler()
    handler.setLevel(level)  # on the handler: Prefect's loggers propagate INFO records to the root
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskPII())
    handler._formintake = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    # every console handler (ours and Prefect's) prints an exception as one line
    for h in root.handlers:  # (not pytest's capture handlers: they are no console)
        if getattr(h, "stream", None) in (sys.stderr, sys.stdout) and not isinstance(h.formatter, ShortTracebacks):
            h.setFormatter(ShortTracebacks(h.formatter, str(path)))
    if file_handler is not None:
        file_handler.setLevel(logging.INFO)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"))
        file_handler.addFilter(MaskPII())
        file_handler._formintake = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    for name in ("formintake", "prefect.flow_runs", "prefect.task_runs"):
        install_mask_filter(logging.getLogger(name))
