"""Report writers: pure functions from run data to bytes (the caller stores them).

    write_exceptions_html / _xlsx / _csv / _json (ReportInput)   reports/<campaign>/<run_id>/exceptions.*
    write_applications_csv / _jsonl / _xlsx (records)           records/<campaign>/applications.*
    write_applications_tables (records)                         applications.csv + .xlsx in one pass
    summary_markdown (ReportInput)                               Prefect artifact, personal data masked
    mask_pii (text)                                              for logs and artifacts elsewhere
"""

from .common import ReportInput, summarize
from .html import write_exceptions_html
from .markdown import summary_markdown
from .masking import mask_pii
from .tabular import (
    write_applications_csv,
    jsonl_record,
    write_applications_jsonl,
    write_applications_tables,
    write_applications_xlsx,
    write_exceptions_csv,
    write_exceptions_json,
    write_exceptions_xlsx,
)

__all__ = [
    "ReportInput",
    "jsonl_record",
    "mask_pii",
    "summarize",
    "summary_markdown",
    "write_applications_csv",
    "write_applications_jsonl",
    "write_applications_tables",
    "write_applications_xlsx",
    "write_exceptions_csv",
    "write_exceptions_html",
    "write_exceptions_json",
    "write_exceptions_xlsx",
]
