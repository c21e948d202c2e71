"""Flat outputs: exceptions / applications as CSV (UTF-8 with BOM), JSON, JSON Lines and XLSX."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO, NamedTuple

import orjson
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.xmlwriter import XMLwriter

from formintake.config import DEFAULT_TIMEZONE, Campaign
from formintake.models import DIRECTION_ZH, STATUS_ZH, Record

from .common import (
    local_time,
    parts_or_whole,
    write_blocks,
    STATUS_SHORT_ZH,
    STATUS_TILES,
    FindingRow,
    ReportInput,
    all_rows,
    applicant_of,
    campaign_of,
    display_width,
    field_columns,
    file_name,
    fmt_value,
    group_by_unit,
    project_of,
    quota_cities,
    quota_units,
    sorted_findings,
    stats_text,
    summarize,
    unit_of,
    unit_sort_key,
)

BOM = "\ufeff"

# ------------------------------------------------------------------------------------------- cell safety

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def csv_safe(v: Any) -> str:
    """Text for a CSV cell that Excel/WPS will not run as a formula (``=``, ``+``, ``-``, ``@``):
    such text from an upload gets a leading apostrophe, plain numbers are left alone."""
    s = v if v.__class__ is str else fmt_value(v)
    if s and s[0] in "=+-@\t\r" and not _NUMBER.match(s):
        return "'" + s
    return s


def _xl_value(v: Any) -> Any:
    if v.__class__ is str:  # most cells: fmt_value(str) is the text itself
        return ILLEGAL_CHARACTERS_RE.sub("", v)[:32767]
    if v is None:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (int, float)):
        return v
    return ILLEGAL_CHARACTERS_RE.sub("", fmt_value(v))[:32767]  # Excel's limit for one cell


# control characters XML 1.0 does not allow (what openpyxl refuses as well)
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


# ------------------------------------------------------------------------------------ exception columns

FINDING_COLUMNS: list[tuple[str, Any]] = [
    ("推荐单位", lambda r: r.unit),
    ("申报单位", lambda r: applicant_of(r.rec)),
    ("项目名称", lambda r: project_of(r.rec)),
    ("文件", lambda r: r.rec.source.key),
    ("规则代码", lambda r: r.f.code),
    ("规则", lambda r: r.rule_title),
    ("严重程度", lambda r: r.severity_zh),
    ("字段", lambda r: r.field_zh),
    ("填写值", lambda r: r.value_text),
    ("应为", lambda r: r.f.expected or ""),
    ("位置", lambda r: r.location),
    ("说明", lambda r: r.f.message),
    ("修改建议", lambda r: r.f.hint or ""),
    ("变化", lambda r: r.change_zh),
    ("豁免", lambda r: r.waiver_text),
    ("申报状态", lambda r: STATUS_ZH.get(r.rec.status, r.rec.status)),
    ("申报方向", lambda r: DIRECTION_ZH.get(r.rec.direction or "", "")),
    ("条款", lambda r: r.clause or ""),
    ("文件版本", lambda r: r.rec.source.version_id or ""),
    ("申报编号", lambda r: r.rec.application_id),
    ("字段代码", lambda r: r.f.field),
]
FINDING_HEADERS = [h for h, _ in FINDING_COLUMNS]
WRAP_HEADERS = {"说明", "修改建议", "填写值", "应为", "豁免", "规则", "项目名称", "位置"}


def finding_cells(row: FindingRow) -> list[Any]:
    return [get(row) for _, get in FINDING_COLUMNS]


class _CsvOut:
    """A CSV (UTF-8 with BOM, CRLF) written into a binary file a block of rows at a time: never whole in
    memory (rows gather in a small text buffer, encoded and written every ~1 MB)."""

    def __init__(self, out: BinaryIO, header: Sequence[str]) -> None:
        self._out = out
        self._buf = io.StringIO()
        self._buf.write(BOM)
        self._w = csv.writer(self._buf, lineterminator="\r\n")
        self._w.writerow(header)

    def row(self, values: Sequence[Any]) -> None:
        self._w.writerow([csv_safe(v) for v in values])
        if self._buf.tell() > 1 << 20:
            self._flush()

    def text(self, line: str) -> None:
        """A row already written as CSV text (line end included)."""
        self._buf.write(line)
        if self._buf.tell() > 1 << 20:
            self._flush()

    def _flush(self) -> None:
        self._out.write(self._buf.getvalue().encode("utf-8"))
        self._buf.seek(0)
        self._buf.truncate()

    def close(self) -> None:
        """Write what is left (the binary file stays open, positioned after the CSV)."""
        self._flush()


def _csv_into(out: BinaryIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    w = _CsvOut(out, header)
    for r in rows:
        w.row(r)
    w.close()


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.BytesIO()
    _csv_into(buf, header, rows)
    return buf.getvalue()


def _as_bytes(write_into, *args: Any) -> bytes:
    """What a ``…_into(…, out)`` writer writes, as bytes (tests and small callers)."""
    buf = io.BytesIO()
    write_into(*args, buf)
    return buf.getvalue()


# -------------------------------------------------------------------------------------------- exceptions


def exceptions_csv_into(inp: ReportInput, out: BinaryIO) -> None:
    """Every finding, one row each: active errors, warnings, info; then waived; then resolved."""
    _csv_into(out, FINDING_HEADERS, (finding_cells(r) for r in all_rows(inp.records, inp.campaign)))


def write_exceptions_csv(inp: ReportInput) -> bytes:
    return _as_bytes(exceptions_csv_into, inp)


def _superseded_dict(rec: Record) -> dict[str, Any]:
    return {
        "application_id": rec.application_id,
        "unit": unit_of(rec),
        "applicant": applicant_of(rec) or None,
        "project": project_of(rec) or None,
        "status": rec.status,
        "source": rec.source.model_dump(mode="json"),
        "superseded_by": rec.superseded_by.model_dump(mode="json") if rec.superseded_by else None,
    }


def _exceptions_doc(inp: ReportInput) -> tuple[dict[str, Any], dict[str, Iterable[Any]]]:
    """exceptions.json: its small parts, and its three long lists as iterators (in the document's key
    order: the lists come last)."""
    s = summarize(inp)
    head = {
        "report": "exceptions",
        "schema_version": 1,
        "campaign": {"id": inp.campaign.id, "name": inp.campaign.name, "notice_number": inp.campaign.notice_number},
        "run_id": inp.run_id,
        "generated_at": inp.generated_at,
        "previous_run_id": inp.previous_run_id,
        "stats": inp.stats,
        "summary": {
            **s.as_dict(),
            "quota_units": quota_units(inp),
            "quota_cities": quota_cities(inp),
        },
    }
    lists = {
        "findings": (r.as_dict() for r in all_rows(inp.records, inp.campaign)),
        "applications": (
            {
                "application_id": rec.application_id,
                "unit": unit_of(rec),
                "status": rec.status,
                "direction": rec.direction,
                "applicant": applicant_of(rec) or None,
                "project": project_of(rec) or None,
                "file_key": rec.source.key,
                "version": rec.source.version_id,
                "errors": len(rec.errors()),
                "warnings": len(rec.warnings()),
            }
            for _, recs in group_by_unit(inp.records, inp.campaign)
            for rec in recs
        ),
        "superseded": (_superseded_dict(r) for r in inp.superseded),
    }
    return head, lists


def _indented(obj: Any, depth: int) -> bytes:
    """orjson's two-space indented JSON of ``obj`` as it reads nested ``depth`` levels deep (a JSON text
    holds no raw newline but between tokens, so each newline gets the extra indent)."""
    data = orjson.dumps(obj, option=orjson.OPT_INDENT_2, default=str)
    return data.replace(b"\n", b"\n" + b"  " * depth) if depth else data


def exceptions_json_into(inp: ReportInput, out: BinaryIO) -> None:
    """exceptions.json, its lists written an element at a time: the same bytes as orjson's indented
    dump of the whole document (the json module's, unless orjson refuses some text: a lone surrogate)."""
    def parts() -> None:
        head, lists = _exceptions_doc(inp)
        out.write(b"{")
        sep = b"\n  "
        for k, v in head.items():
            out.write(sep + orjson.dumps(k) + b": " + _indented(v, 1))
            sep = b",\n  "
        for k, items in lists.items():
            out.write(sep + orjson.dumps(k) + b": [")
            any_item = write_blocks(out, (_indented(item, 2) for item in items), b"\n    ", b",\n    ")
            out.write(b"\n  ]" if any_item else b"]")
        out.write(b"\n}")

    def whole() -> bytes:
        head, lists = _exceptions_doc(inp)
        doc = {**head, **{k: list(v) for k, v in lists.items()}}
        return json.dumps(doc, ensure_ascii=False, indent=2, default=str).encode("utf-8", "surrogatepass")

    parts_or_whole(out, parts, whole)


def write_exceptions_json(inp: ReportInput) -> bytes:
    return _as_bytes(exceptions_json_into, inp)


# ------------------------------------------------------------------------------------------ xlsx helpers
#
# XlsxWriter in constant-memory mode: rows are streamed to disk as they are written (a sheet of 10,000
# applications costs the same memory as one of ten), and every cell style is a Format defined once per
# workbook (``_Book.fmt``), not a style object per cell. Rows must therefore be written top to bottom.

HEADER_FILL = "#DDE4EE"
SEV_FILL = {"error": "#FBE3E1", "warning": "#FFF1CC", "info": "#E3EEF9"}
ACCEPTED_FILL = "#E3F4E8"
RED = "#B42318"
GREY = "#7A7A7A"
SECTION_COLOR = "#1F3A5F"
FIT_ROWS = 500  # column widths are fitted from the first rows of a sheet



# ----------------------------------------------------------------------------------- cell XML, by hand
#
# What XlsxWriter 3.x writes for one cell in constant-memory mode (worksheet._write_cell with
# in-line strings), reproduced so that a row costs one string join instead of XlsxWriter's per-cell
# checks and calls. tests/test_reports.py compares the bytes with XlsxWriter's own on awkward text.

_COL_NAMES: list[str] = []


def _col_name(col: int) -> str:
    while len(_COL_NAMES) <= col:
        _COL_NAMES.append(xl_col_to_name(len(_COL_NAMES)))
    return _COL_NAMES[col]


_XML_SPECIAL = re.compile("[&<>]")
_CONTROL_OR_ESCAPE = re.compile("[\\x00-\\x08\\x0b-\\x1f\\ufffe\\uffff]|_x[0-9a-fA-F]{4}_")
_LEADING_OR_TRAILING_SPACE = re.compile(r"^\s|\s$")
# anything in a string that needs more than the plain f-string below (most cells have none of it)
_NOT_PLAIN = re.compile("[\\x00-\\x1f\\ufffe\\uffff&<>]|_x[0-9a-fA-F]{4}_|^\\s|\\s$")


def _cell_xml(ref: str, x: Any, fmt: Any) -> str:
    style = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
    if x.__class__ is not str:
        if x != x or x in (math.inf, -math.inf):
            raise TypeError("NAN/INF not supported in write_number() without 'nan_inf_to_errors' Workbook() option")
        return f"<c r=\"{ref}\"{style}><v>{x:.16G}</v></c>"
    if len(x) <= 16383 and not _NOT_PLAIN.search(x):
        return f'<c r="{ref}"{style} t="inlineStr"><is><t>{x}</t></is></c>'
    if len(x) > 16383 and len(x.encode("utf-16-le", "surrogatepass")) // 2 > 32767:
        x = _utf16_cut(x, 32767)
    if _CONTROL_OR_ESCAPE.search(x):
        x = XMLwriter._escape_control_characters(x)
    if x.startswith("<r>") and x.endswith("</r>"):  # XlsxWriter takes such text as rich-string XML
        return f'<c r="{ref}"{style} t="inlineStr"><is>{x}</is></c>'
    space = ' xml:space="preserve"' if _LEADING_OR_TRAILING_SPACE.search(x) else ""
    if _XML_SPECIAL.search(x):
        x = x.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{x}</t></is></c>'


class _Book:
    """One workbook being written: its formats (made once, by the properties they set) and sheets."""

    def __init__(self) -> None:
        self.buf = tempfile.TemporaryFile()  # XlsxWriter's own zip: read back by stable_zip_into, then dropped
        self.wb = xlsxwriter.Workbook(self.buf, {"constant_memory": True, "in_memory": False,
                                                 "strings_to_formulas": False, "strings_to_urls": False,
                                                 "strings_to_numbers": False})
        self._formats: dict[tuple, Any] = {}
        self._taken: set[str] = set()

    def fmt(self, **props: Any):
        key = tuple(sorted(props.items()))
        f = self._formats.get(key)
        if f is None:
            f = self._formats[key] = self.wb.add_format(props)
        return f

    def sheet(self, name: str) -> "_Sheet":
        return _Sheet(self, self.wb.add_worksheet(name))

    def into(self, out: BinaryIO, as_of: str | None = None) -> None:
        """Close the workbook and write it, through :func:`stable_zip_into`, into ``out``."""
        self.wb.close()
        self.buf.seek(0)
        with self.buf:
            stable_zip_into(self.buf, out, as_of)


class _Sheet:
    """Rows written in order; remembers the widest text per column for :meth:`fit`.

    Each row goes straight to the worksheet's row-data file as the XML XlsxWriter's constant-memory
    mode would write for it (same bytes: in-line strings, the cell's format index, control characters
    as ``_xHHHH_``), without XlsxWriter's per-cell bookkeeping (~15 µs a cell; this is ~2 µs)."""

    def __init__(self, book: _Book, ws) -> None:
        self.book, self.ws = book, ws
        self.row = 0  # next row to write (0-based)
        self.widths: dict[int, int] = {}

    def _fit_width(self, col: int, x: Any) -> None:
        text = str(x)
        known = self.widths.get(col, 0)
        if 2 * len(text) > known:  # else it cannot be wider (a character is at most 2 wide)
            w = max(display_width(line) for line in text.splitlines() or [""])
            if w > known:
                self.widths[col] = w

    def line(self, values: Sequence[Any], fmts: Sequence[Any] | Any = None) -> None:
        """Write the next row (``fmts``: one format for the row, or one per column)."""
        per_col = isinstance(fmts, (list, tuple))
        row, fit = self.row, self.row < FIT_ROWS
        ref = str(row + 1)
        cells: list[str] = []
        first = last = -1
        for j, v in enumerate(values):
            x = _xl_value(v)
            if x is None:
                continue
            if fit:
                self._fit_width(j, x)
            if x == "":
                continue  # an empty cell is not written at all (most of a wide sheet): no XML, no format
            fmt = fmts[j] if per_col else fmts
            cells.append(_cell_xml(_col_name(j) + ref, x, fmt))
            if first < 0:
                first = j
            last = j
        self.row += 1
        if cells:
            self._emit(row, ref, "".join(cells), first, last)

    def put_row(self, row: "AppRow") -> None:
        """Write the next row from its rendered cells (:class:`AppRow`)."""
        at = self.row
        if row.widths is not None and at < FIT_ROWS:
            known, it = self.widths, row.widths
            for k in range(0, len(it), 2):
                if it[k + 1] > known.get(it[k], 0):
                    known[it[k]] = it[k + 1]
        self.row += 1
        if row.first >= 0:
            ref = str(at + 1)
            self._emit(at, ref, row.cells.replace(_ROW_MARK, ref), row.first, row.last)

    def _emit(self, row: int, ref: str, cells: str, first: int, last: int) -> None:
        ws = self.ws
        if row >= ws.xls_rowmax or last >= ws.xls_colmax:
            raise ValueError(f"row {row} / column {last} is beyond Excel's limits")
        ws._opt_reopen()
        ws.fh.write(f'<row r="{ref}">{cells}</row>')
        # what XlsxWriter's _check_dimensions would have recorded for these cells
        if ws.dim_rowmin is None or row < ws.dim_rowmin:
            ws.dim_rowmin = row
        if ws.dim_rowmax is None or row > ws.dim_rowmax:
            ws.dim_rowmax = row
        if ws.dim_colmin is None or first < ws.dim_colmin:
            ws.dim_colmin = first
        if ws.dim_colmax is None or last > ws.dim_colmax:
            ws.dim_colmax = last

    def header(self, headers: Sequence[str]) -> None:
        self.line(headers, self.book.fmt(bold=True, bg_color=HEADER_FILL, valign="vcenter"))

    def fit(self, wrap_cols: set[int] = frozenset(), min_w: int = 6, max_w: int = 48, wrap_w: int = 40) -> None:
        """Column widths from content (CJK characters count 2); wrapped columns get a fixed width."""
        for col, w in self.widths.items():
            cap = wrap_w if col in wrap_cols else max_w
            self.ws.set_column(col, col, min(max(w + 2, min_w), cap))


def _table_sheet(book: _Book, name: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
                 wrap_headers: set[str] = frozenset(),
                 row_style: Any = None) -> int:
    """Header row bold and frozen, auto filter over the table, widths fitted. Returns rows written.

    ``row_style(i, values) -> dict`` may add format properties for a row (fills per column index under
    the key ``"fills"``, a font for the whole row under ``"font"``)."""
    sh = book.sheet(name)
    sh.header(headers)
    wrap_cols = {i for i, h in enumerate(headers) if h in wrap_headers}
    n = 0
    row_fmts: dict[tuple, list] = {}  # a row's formats, by its style: built once per distinct style
    for n, r in enumerate(rows, start=1):
        extra = row_style(n - 1, r) if row_style else {}
        fills, font = extra.get("fills", {}), extra.get("font", {})
        key = (len(r), tuple(sorted(fills.items())), tuple(sorted(font.items())))
        fmts = row_fmts.get(key)
        if fmts is None:
            fmts = row_fmts[key] = [
                book.fmt(valign="top", **({"text_wrap": True} if j in wrap_cols else {}),
                         **({"bg_color": fills[j]} if j in fills else {}), **font) for j in range(len(r))]
        sh.line(r, fmts)
    sh.ws.freeze_panes(1, 0)
    sh.ws.autofilter(0, 0, n, len(headers) - 1)
    sh.fit(wrap_cols)
    return n


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
# characters an upload's folder name may carry that XML 1.0 or Excel's sheet tab cannot: C0/C1 controls,
# line/paragraph separators, lone surrogates, non-characters
_SHEET_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_SHEET_RESERVED = {"history"}  # Excel reserves it


def _utf16_cut(s: str, units: int) -> str:
    """``s`` cut to at most ``units`` UTF-16 code units (Excel counts those), never inside a pair."""
    out, n = [], 0
    for ch in s:
        w = 2 if ord(ch) > 0xFFFF else 1
        if n + w > units:
            break
        out.append(ch)
        n += w
    return "".join(out)


def sheet_name(name: str, taken: set[str]) -> str:
    """A legal, unique Excel sheet name from any string an upload can carry: no []:*?/\\, no control
    characters, not starting/ending with ', not "History", ≤31 UTF-16 units; a clash gets ~2, ~3 …"""
    base = _SHEET_INVISIBLE.sub(" ", str(name))
    base = _SHEET_BAD.sub("_", base)
    base = " ".join(base.split()).strip("'").strip() or "未命名"
    if base.lower() in _SHEET_RESERVED:
        base += "_"
    base = _utf16_cut(base, 31).rstrip("'") or "未命名"
    cand, i = base, 2
    while cand.lower() in taken:
        suffix = f"~{i}"
        cand = _utf16_cut(base, 31 - len(suffix)) + suffix
        i += 1
    taken.add(cand.lower())
    return cand


_CORE_TIME = re.compile(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def stable_zip_into(src_file: BinaryIO, out: BinaryIO, as_of: str | None = None) -> None:
    """The same workbook as the same bytes: member times fixed (1980-01-01, the zip epoch) and the
    document's created/modified set to ``as_of`` (ISO, e.g. the newest record's processed_at) instead of
    the moment of writing, so a run with nothing new rewrites nothing different. From a file into a file:
    a deflated member's compressed bytes are copied as they stand, in chunks (the same as deflating it again: zipfile's default level both times, XlsxWriter's and
    ours — tested — without inflating and deflating a 10,000-row sheet once more); others are deflated."""
    stamp = "1980-01-01T00:00:00Z"
    if as_of:
        stamp = as_of.replace("+00:00", "Z")[:19].rstrip("Z") + "Z"
    with zipfile.ZipFile(src_file) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            if info.filename == "docProps/core.xml":
                body = _CORE_TIME.sub(lambda m: m.group(1) + stamp + m.group(2), src.read(info).decode("utf-8"))
                dst.writestr(zi, body.encode("utf-8"))
            elif info.compress_type == zipfile.ZIP_DEFLATED and not info.flag_bits & 0x1 and dst._seekable:
                _copy_deflated(src, info, dst, zi)
            else:
                with src.open(info) as member, dst.open(zi, "w") as copy:
                    shutil.copyfileobj(member, copy, 1 << 20)


def _copy_deflated(src: zipfile.ZipFile, info: zipfile.ZipInfo, dst: zipfile.ZipFile, zi: zipfile.ZipInfo) -> None:
    """Member ``info`` of ``src`` into ``dst`` as ``zi`` (same data, our name/time/attributes), its
    compressed bytes copied; the headers as ``ZipFile.open(zi, "w")`` writes them on a seekable file."""
    fp = src.fp
    fp.seek(info.header_offset)
    head = struct.unpack(zipfile.structFileHeader, fp.read(zipfile.sizeFileHeader))
    fp.seek(head[zipfile._FH_FILENAME_LENGTH] + head[zipfile._FH_EXTRA_FIELD_LENGTH], io.SEEK_CUR)
    zi.CRC, zi.compress_size, zi.file_size = info.CRC, info.compress_size, info.file_size
    if not zi.external_attr:
        zi.external_attr = 0o600 << 16  # what ZipFile.open gives a member without attributes
    zip64 = zi.file_size * 1.05 > zipfile.ZIP64_LIMIT
    dst.fp.seek(dst.start_dir)
    zi.header_offset = dst.fp.tell()
    dst._writecheck(zi)
    dst._didModify = True
    dst.fp.write(zi.FileHeader(zip64))
    left = info.compress_size
    while left:
        chunk = fp.read(min(left, 1 << 20))
        if not chunk:
            raise zipfile.BadZipFile(f"{info.filename}: compressed data cut short")
        dst.fp.write(chunk)
        left -= len(chunk)
    dst.filelist.append(zi)
    dst.NameToInfo[zi.filename] = zi
    dst.start_dir = dst.fp.tell()


# ---------------------------------------------------------------------------------------- exceptions.xlsx


def _summary_sheet(book: _Book, inp: ReportInput) -> None:
    s = summarize(inp)
    sh = book.sheet("汇总")
    bold, top, red = book.fmt(bold=True), book.fmt(valign="top"), book.fmt(valign="top", bold=True, font_color=RED)
    head = book.fmt(bold=True, bg_color=HEADER_FILL, valign="vcenter")
    sh.line([f"{inp.campaign.name} 申报材料异常报告 — 汇总"], book.fmt(bold=True, font_size=14))
    meta = [
        ("通知文号", inp.campaign.notice_number),
        ("运行编号", inp.run_id),
        (f"生成时间（{inp.campaign.timezone_zh}）", local_time(inp.generated_at, inp.campaign.timezone)),
        ("上次运行", inp.previous_run_id or "（首次运行）"),
        ("申报数（最新版本）", s.applications),
    ]
    if inp.stats:
        meta.append(("运行统计", stats_text(inp.stats)))
    for k, v in meta:
        sh.line([k, v], [bold, None])

    def section(title: str, headers: Sequence[str], rows: list[Sequence[Any]], over: list[bool] | None = None) -> None:
        sh.row += 1
        sh.line([title], book.fmt(bold=True, font_size=12, font_color=SECTION_COLOR))
        sh.line(headers, head)
        if not rows:
            sh.line(["（无）"])
        for i, row in enumerate(rows):
            sh.line(row, red if over and over[i] else top)

    section("按申报状态", ["状态", "状态代码", "数量"],
            [[STATUS_SHORT_ZH[k], k, s.by_status.get(k, 0)] for k in STATUS_TILES])
    section("按严重程度（不含已豁免）", ["严重程度", "数量"],
            [["错误", s.severity["error"]], ["警告", s.severity["warning"]], ["提示", s.severity["info"]],
             ["已豁免", s.waived]])
    if s.rerun:
        section("与上次运行相比", ["变化", "数量"],
                [["新增", s.changes["new"]], ["持续", s.changes["persisting"]], ["已解决", s.changes["resolved"]]])
    sev_zh = {"error": "错误", "warning": "警告", "info": "提示"}
    section("按规则", ["规则代码", "规则", "严重程度", "条款", "问题数", "涉及申报数", "已豁免"],
            [[x.code, x.title, sev_zh.get(x.severity, x.severity), x.clause or "", x.findings, x.applications, x.waived]
             for x in s.by_rule])
    section("按推荐单位", ["推荐单位", "申报数", "通过", "待人工复核", "不予受理", "文件无法读取", "错误", "警告", "提示", "已豁免", "已替代"],
            [[u.unit, u.applications, u.by_status.get("accepted", 0), u.by_status.get("needs_review", 0),
              u.by_status.get("rejected", 0), u.by_status.get("unreadable", 0), u.errors, u.warnings, u.infos,
              u.waived, u.superseded] for u in s.by_unit])
    qu = quota_units(inp)
    section("推荐名额使用（体验中心方向，按推荐单位）",
            ["推荐单位", "单位类型", "体验中心推荐数", "名额", "是否超额", "示范城市额外推荐", "大平台推荐数（不限）"],
            [[q["unit"], q["kind_zh"], q["center_count"], q["center_quota"], "超额" if q["over"] else "",
              q["extra_count"], q["platform_count"]] for q in qu],
            [q["over"] for q in qu])
    qc = quota_cities(inp)
    section("示范城市额外推荐名额使用",
            ["示范城市", "所在省份", "城市类型", "额外推荐数", "名额", "是否超额"],
            [[q["city"], q["province"], q["kind"], q["extras"], q["quota"], "超额" if q["over"] else ""] for q in qc],
            [q["over"] for q in qc])
    sh.ws.freeze_panes(1, 0)
    sh.widths[0] = 34  # column A: 36 wide
    sh.widths[1] = max(sh.widths.get(1, 0), 22)  # column B: at least 24
    sh.fit(max_w=40)
    sh.ws.set_column(0, 0, 36)


SUPERSEDED_HEADERS = ["推荐单位", "申报单位", "项目名称", "被替代的文件", "版本", "上传时间", "sha256",
                      "替代为（文件）", "替代版本", "替代上传时间", "申报编号"]


def _superseded_rows(records: list[Record], campaign=None) -> list[list[Any]]:
    out = []
    for rec in sorted(records, key=lambda r: (unit_sort_key(unit_of(r), campaign), r.application_id, r.source.uploaded_at or "")):
        by = rec.superseded_by
        out.append([unit_of(rec), applicant_of(rec), project_of(rec), rec.source.key, rec.source.version_id,
                    local_time(rec.source.uploaded_at), rec.source.sha256, by.key if by else "",
                    by.version_id if by else "", local_time(by.uploaded_at) if by else "", rec.application_id])
    return out


def exceptions_xlsx_into(inp: ReportInput, out: BinaryIO) -> None:
    """汇总 (summary), one sheet per recommending unit with its findings, and 已替代 (superseded uploads)."""
    book = _Book()
    taken = {"汇总", "已替代"}
    _summary_sheet(book, inp)
    sev_col = FINDING_HEADERS.index("严重程度")
    strike = {"font_strikeout": True, "font_color": GREY}
    waived = {"italic": True, "font_color": GREY}
    for unit, recs in group_by_unit(inp.records, inp.campaign):
        rows = [r for rec in recs for r in sorted_findings(rec, inp.campaign)]

        def style(i: int, _values, rows=rows) -> dict:
            fr = rows[i]
            out: dict = {"fills": {sev_col: SEV_FILL[fr.f.severity]} if fr.f.severity in SEV_FILL else {}}
            if fr.resolved or fr.f.waived:
                out["font"] = strike if fr.resolved else waived
            return out

        _table_sheet(book, sheet_name(unit, taken), FINDING_HEADERS, (finding_cells(r) for r in rows), WRAP_HEADERS,
                     row_style=style)
    _table_sheet(book, "已替代", SUPERSEDED_HEADERS, _superseded_rows(inp.superseded, inp.campaign))
    book.into(out, inp.generated_at)


def write_exceptions_xlsx(inp: ReportInput) -> bytes:
    return _as_bytes(exceptions_xlsx_into, inp)


# ---------------------------------------------------------------------------------------- applications


def _app_columns(campaign: Campaign | None) -> list[tuple[str, Any]]:
    tz, tz_zh = (campaign.timezone, campaign.timezone_zh) if campaign else (DEFAULT_TIMEZONE, DEFAULT_TIMEZONE)
    cols: list[tuple[str, Any]] = [
        ("申报编号", lambda r: r.application_id),
        ("状态", lambda r: STATUS_ZH.get(r.status, r.status)),
        ("状态代码", lambda r: r.status),
        ("申报方向", lambda r: DIRECTION_ZH.get(r.direction or "", "")),
        ("推荐单位", unit_of),
        ("上传目录", lambda r: r.recommender_path or ""),
    ]
    for key, header in field_columns():
        if key == "direction":
            continue  # 申报方向 above
        cols.append((header, lambda r, k=key: r.fields.get(k)))
    cols += [
        ("错误数", lambda r: len(r.errors())),
        ("警告数", lambda r: len(r.warnings())),
        ("提示数", lambda r: sum(1 for f in r.findings if f.severity == "info" and not f.waived)),
        ("已豁免数", lambda r: sum(1 for f in r.findings if f.waived)),
        ("问题代码", lambda r: " ".join(sorted({f.code for f in r.findings if not f.waived}))),
        ("文件", lambda r: r.source.key),
        ("文件名", file_name),
        ("文件版本", lambda r: r.source.version_id or ""),
        ("sha256", lambda r: r.source.sha256 or ""),
        ("文件大小（字节）", lambda r: r.source.size),
        (f"上传时间（{tz_zh}）", lambda r: local_time(r.source.uploaded_at, tz)),
        ("替代的上传", lambda r: " ".join(s.key + (f"@{s.version_id}" if s.version_id else "") for s in r.supersedes)),
        ("被替代为", lambda r: r.superseded_by.key if r.superseded_by else ""),
        ("处理时间", lambda r: r.processed_at),
        ("流水线版本", lambda r: r.pipeline_version),
    ]
    return cols


def _sorted_records(records: list[Record], camp: Campaign | None) -> list[Record]:
    return sorted(records, key=lambda r: (unit_sort_key(unit_of(r), camp), applicant_of(r) or file_name(r), r.application_id))


def _app_table(records: list[Record]) -> tuple[list[str], list[Record], Iterable[list[Any]]]:
    """Headers, records in table order, and each row's values as they are asked for (computed once for
    the CSV and the XLSX, never all held)."""
    camp = campaign_of(records)
    cols = _app_columns(camp)
    recs = _sorted_records(records, camp)
    getters = [get for _, get in cols]
    return [h for h, _ in cols], recs, ([get(r) for get in getters] for r in recs)


def write_applications_csv(records: list[Record]) -> bytes:
    headers, _, rows = _app_table(records)
    return _csv_bytes(headers, rows)


def applications_tables_into(records: list[Record], csv_out: BinaryIO, xlsx_out: BinaryIO,
                             rows: "AppRows | None" = None, digests: Sequence[str] | None = None) -> None:
    """applications.csv and applications.xlsx from one pass over the records, a row at a time.

    ``rows`` (with ``digests``, each record's :func:`steps.publish.record_digest`, in ``records``' order):
    the rows rendered by an earlier run, by digest. A record found there is not rendered again (its CSV
    line and sheet cells are taken as they are, only the row number put in); every row written, reused
    or new, is added to ``rows``' next file (:meth:`AppRows.finished`). The bytes are the same either way (tests/test_app_rows.py)."""
    camp = campaign_of(records)
    cols = _app_columns(camp)
    headers = [h for h, _ in cols]
    getters = [get for _, get in cols]
    order = sorted(range(len(records)), key=_app_sort_key(records, camp))
    csv_w = _CsvOut(csv_out, headers)
    book = _Book()
    sh = book.sheet("申报清单")
    sh.header(headers)
    wrap_cols = {i for i, h in enumerate(headers) if h in APP_WRAP_HEADERS}
    fmts = _app_formats(book, len(headers), wrap_cols)  # made (and numbered) before any row: fixed style ids
    render = _AppRowRenderer(getters, fmts)
    for i in order:
        rec = records[i]
        digest = digests[i] if digests is not None else None
        fitted = sh.row < FIT_ROWS  # the column widths come from these rows: their widths are needed
        row = rows.get(digest, fitted) if rows is not None and digest is not None else None
        reused = row is not None
        if row is None:
            row = render(rec, measure=fitted)
        sh.put_row(row)
        csv_w.text(row.csv)
        if rows is not None and digest is not None:
            rows.add(digest, row, reused)
    csv_w.close()
    sh.ws.freeze_panes(1, 0)
    sh.ws.autofilter(0, 0, len(records), len(headers) - 1)
    sh.fit(wrap_cols)
    # no moment of writing inside: the data's own time (the newest extraction), so equal inputs, equal bytes
    book.into(xlsx_out, max((r.processed_at for r in records), default=None))


def write_applications_tables(records: list[Record]) -> tuple[bytes, bytes]:
    """applications.csv and applications.xlsx (as bytes) from one pass over the records' values."""
    csv_buf, xlsx_buf = io.BytesIO(), io.BytesIO()
    applications_tables_into(records, csv_buf, xlsx_buf)
    return csv_buf.getvalue(), xlsx_buf.getvalue()


def write_applications_jsonl(records: list[Record]) -> bytes:
    """One record per line, exactly the Record model (the contract of applications.jsonl)."""
    return b"".join(jsonl_record(r.model_dump(mode="json")) for r in records)


def jsonl_record(obj: Any) -> bytes:
    """One line of applications.jsonl (newline included) from a record's ``model_dump(mode="json")``."""
    return _jsonl_bytes(obj) + b"\n"


def jsonl_line(obj: Any) -> str:
    """One JSON Lines line: U+2028/U+2029 escaped (JSON allows them raw, line-based readers split there)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _jsonl_bytes(obj: Any) -> bytes:
    """:func:`jsonl_line` as UTF-8 by orjson (compact separators), unless it refuses the text."""
    try:
        data = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # e.g. a lone surrogate
        return jsonl_line(obj).encode("utf-8", "surrogatepass")
    return data.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")


def write_applications_xlsx(records: list[Record]) -> bytes:
    return write_applications_tables(records)[1]


# ------------------------------------------------------------------- applications rows, rendered once
#
# A row of applications.csv / .xlsx depends only on its record (and the code and the campaign's time
# zone): rendered once, kept by the record's digest (steps.publish keeps them in the results store) and
# reused while the record stays the same. For that a row's sheet XML must not depend on the other rows:
# every cell format is made, and given its style id, before the first row (in a fixed order), and the row
# number is put in when the row is written.

APP_WRAP_HEADERS = {"项目简介", "主营业务", "推荐单位意见", "注册地址", "通讯地址", "体验中心地址"}
_APP_FILLS = {"rejected": SEV_FILL["error"], "unreadable": SEV_FILL["error"], "needs_review": SEV_FILL["warning"],
              "accepted": ACCEPTED_FILL}
_STATUS_COL = 1
_ROW_MARK = "\x01"  # where a row's number goes in its cells' XML: no cell can hold it (written _x0001_)


def _app_sort_key(records: list[Record], camp: Campaign | None):
    def key(i: int) -> tuple:
        r = records[i]
        return unit_sort_key(unit_of(r), camp), applicant_of(r) or file_name(r), r.application_id
    return key


def _app_formats(book: "_Book", ncols: int, wrap_cols: set[int]) -> dict[str | None, list[Any]]:
    """Each status fill's formats per column, made in one order and numbered at once (style ids fixed)."""
    out: dict[str | None, list[Any]] = {}
    for fill in (None, *dict.fromkeys(_APP_FILLS.values())):
        out[fill] = [book.fmt(valign="top", **({"text_wrap": True} if j in wrap_cols else {}),
                              **({"bg_color": fill} if fill and j == _STATUS_COL else {})) for j in range(ncols)]
        for f in out[fill]:
            f._get_xf_index()
    return out


class AppRow(NamedTuple):
    csv: str  # the row's CSV line (line end included), before UTF-8
    cells: str  # its cells as sheet XML, _ROW_MARK where the row number goes
    first: int  # first and last column written (-1: none)
    last: int
    widths: tuple[int, ...] | None  # (column, display width, …) as the column fitting measures; None: not measured


class _AppRowRenderer:
    def __init__(self, getters: list, fmts: dict[str | None, list[Any]]) -> None:
        self.getters, self.fmts = getters, fmts
        self.buf = io.StringIO()
        self.csv = csv.writer(self.buf, lineterminator="\r\n")

    def __call__(self, rec: Record, measure: bool) -> AppRow:
        values = [get(rec) for get in self.getters]
        self.buf.seek(0)
        self.buf.truncate()
        self.csv.writerow([csv_safe(v) for v in values])
        fmts = self.fmts[_APP_FILLS.get(rec.status)]
        cells: list[str] = []
        widths: list[int] | None = [] if measure else None
        first = last = -1
        for j, v in enumerate(values):
            x = _xl_value(v)
            if x is None:
                continue
            if widths is not None:
                w = _text_width(x)
                if w:
                    widths += (j, w)
            if x == "":
                continue
            cells.append(_cell_xml(_col_name(j) + _ROW_MARK, x, fmts[j]))
            if first < 0:
                first = j
            last = j
        return AppRow(self.buf.getvalue(), "".join(cells), first, last, tuple(widths) if widths is not None else None)


def _text_width(x: Any) -> int:
    """What :meth:`_Sheet._fit_width` measures for one cell."""
    return max(display_width(line) for line in str(x).splitlines() or [""])


def app_rows_key(records: list[Record], code: str) -> str:
    """What a rendered application row depends on besides its record: the code (``code``, its digest) and
    the campaign's time zone (the upload time column)."""
    camp = campaign_of(records)
    tz = (camp.timezone, camp.timezone_zh) if camp else (DEFAULT_TIMEZONE, DEFAULT_TIMEZONE)
    return f"{code}|{tz[0]}|{tz[1]}"


class AppRows:
    """Rendered application rows by record digest: those of an earlier run (read from ``previous``, a
    binary file as :meth:`finished` gave it; this object closes it) and the ones written now (added to the
    next such file as they come). ``key``: what else the rows depend on (the code, the campaign's time
    zone); rows made under another key are not used.

    The file: a head line (magic, format, key), then per row its digest (64 hex), the length of its entry
    (4 bytes) and the entry (the row as JSON, zlib level 1). Each entry is compressed on its own, so a row
    taken over is copied as it stands (a re-run compresses only the rows it rendered), and only each
    row's place in the earlier file is held in memory."""

    MAGIC = b"formintake-app-rows"
    FORMAT = 2

    def __init__(self, key: str, previous: BinaryIO | None = None) -> None:
        self.key = key
        self._at: dict[str, tuple[int, int]] = {}  # digest -> (offset, length) of its entry in previous
        self._prev = previous
        self.out = tempfile.TemporaryFile()  # the next file
        self.out.write(self._head())
        self._added: set[str] = set()
        self.reused = 0  # rows taken as rendered before
        if previous is not None:
            self._read(previous)

    def _head(self) -> bytes:
        return self.MAGIC + b" " + orjson.dumps([self.FORMAT, self.key]) + b"\n"

    def _read(self, previous: BinaryIO) -> None:
        previous.seek(0)
        if previous.readline() != self._head():
            return
        pos, at = previous.tell(), {}
        while head := previous.read(68):
            if len(head) < 68:
                return  # cut short: nothing reused
            size = int.from_bytes(head[64:], "big")
            at[head[:64].decode("ascii", "replace")] = (pos + 68, size)
            pos = previous.seek(size, io.SEEK_CUR)
        if pos != previous.tell() or previous.seek(0, io.SEEK_END) != pos:
            return
        self._at = at

    def _entry(self, digest: str) -> bytes | None:
        place = self._at.get(digest)
        if place is None or self._prev is None:
            return None
        self._prev.seek(place[0])
        data = self._prev.read(place[1])
        return data if len(data) == place[1] else None

    def get(self, digest: str, measured: bool = False) -> AppRow | None:
        """The row rendered for ``digest`` (``measured``: only one whose widths were measured)."""
        data = self._entry(digest)
        if data is None:
            return None
        try:
            row = orjson.loads(zlib.decompress(data))
            row[4] = tuple(row[4]) if row[4] is not None else None
            found = AppRow(*row)
        except (zlib.error, orjson.JSONDecodeError, TypeError, ValueError, IndexError):
            return None
        if measured and found.widths is None:
            return None
        self.reused += 1
        return found

    def add(self, digest: str, row: AppRow, reused: bool = False) -> None:
        """Add the row to the next file (``reused``: as :meth:`get` gave it: its entry is copied)."""
        if digest in self._added or len(digest) != 64 or not digest.isascii():
            return
        entry = self._entry(digest) if reused else None
        if entry is None:
            try:
                entry = zlib.compress(orjson.dumps(list(row)), 1)
            except (TypeError, orjson.JSONEncodeError):  # text orjson refuses (a lone surrogate): not kept
                return
        self._added.add(digest)
        self.out.write(digest.encode("ascii") + len(entry).to_bytes(4, "big") + entry)

    def finished(self) -> BinaryIO:
        """The next file, positioned at its start (closed when the ``with`` is left)."""
        self.out.seek(0)
        return self.out

    def __enter__(self) -> "AppRows":
        return self

    def __exit__(self, *_: Any) -> None:
        if self._prev is not None:
            self._prev.close()
        self.out.close()
