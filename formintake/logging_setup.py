"""Logging: personal data (phones, e-mails, ID numbers) is masked in every formintake log line."""

from __future__ import annotations

import logging

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


def setup_logging() -> None:
    level = load_settings().log_level.upper()
    handler = logging.StreamHandler()
    handler.setLevel(level)  # on the handler: Prefect's loggers propagate INFO records to the root
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskPII())
    root = logging.getLogger()
    if not any(getattr(h, "_formintake", False) for h in root.handlers):
        handler._formintake = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for name in ("formintake", "prefect.flow_runs", "prefect.task_runs"):
        install_mask_filter(logging.getLogger(name))
