"""Report writers: pure functions from run data to bytes (the caller stores them).

    write_exceptions_html / _xlsx / _csv / _json (ReportInput)   reports/<campaign>/<run_id>/exceptions.*
    exceptions_html_into / _xlsx / _csv / _json (ReportInput, f)  the same, streamed into a binary file
    write_applications_csv / _jsonl / _xlsx (records)           records/<campaign>/applications.*
    applications_tables_into (records, csv_f, xlsx_f[, rows, digests])  applications.csv + .xlsx in one pass,
                                                                 streamed; rows rendered before reused (AppRows)
    write_applications_tables (records)                         the same as bytes
    summary_markdown (ReportInput)                               Prefect artifact, personal data masked
    mask_pii (text)                                              for logs and artifacts elsewhere
"""

from .common import ReportInput, parts_or_whole, summarize
from .html import exceptions_html_into, write_exceptions_html
from .markdown import summary_markdown
from .masking import mask_pii
from .tabular import (
    AppRows,
    app_rows_key,
    applications_tables_into,
    exceptions_csv_into,
    exceptions_json_into,
    exceptions_xlsx_into,
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
    "AppRows",
    "app_rows_key",
    "applications_tables_into",
    "exceptions_csv_into",
    "exceptions_html_into",
    "exceptions_json_into",
    "exceptions_xlsx_into",
    "ReportInput",
    "parts_or_whole",
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
