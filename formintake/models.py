"""The common model every part of formintake speaks.

extractors/ turn one file format into an :class:`ExtractedForm`; validators/ read it and yield
:class:`Finding`s; the pipeline wraps both into a :class:`Record`. Nothing here imports a file-format
library or the S3 SDK.

Normalised value types (``FieldValue.value``), by the field's type in forms.md:

* text            -> ``str`` (spaces collapsed, full-width ASCII folded to half-width)
* integer / year  -> ``int`` (persons are persons: ``1.2亿`` -> ``120000000``)
* decimal         -> ``float`` (money in 万元, area in square metres)
* date            -> ``str`` ISO ``YYYY-MM-DD``
* enum            -> ``str`` (the Chinese option text of forms.md, e.g. ``"民营企业"``;
                     ``direction`` is ``"platform"`` / ``"experience_center"``)
* set             -> ``list[str]`` of option texts, in the order forms.md lists them
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, Field, TypeAdapter
from pydantic_core import core_schema

Severity = Literal["error", "warning", "info"]
Direction = Literal["platform", "experience_center"]
Status = Literal["accepted", "needs_review", "rejected", "unreadable", "superseded"]
FieldState = Literal["ok", "missing", "placeholder", "invalid"]
Change = Literal["new", "persisting", "resolved"]

DIRECTION_ZH = {"platform": "用户过亿信息消费大平台", "experience_center": "信息消费体验中心"}
STATUS_ZH = {
    "accepted": "通过",
    "needs_review": "待人工复核",
    "rejected": "不予受理",
    "unreadable": "文件无法读取",
    "superseded": "已被更正版本替代",
}
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}


class Evidence(BaseModel):
    """Where a value was found, precise enough for a reviewer to open the file at that place."""

    method: Literal[
        "docx-table", "docx-paragraph", "docx-content-control", "pdf-table", "pdf-text", "ocr", "file"
    ]
    # docx
    table: int | None = None  # 0-based index of the table in the body
    row: int | None = None  # 0-based row index in that table
    col: int | None = None  # 0-based grid column of the value cell
    paragraph: int | None = None  # 0-based index of the body paragraph
    # pdf
    page: int | None = None  # 1-based page number
    bbox: tuple[float, float, float, float] | None = None  # x0, top, x1, bottom in PDF points
    label: str | None = None  # the label text as written in the file
    confidence: float | None = None  # OCR only: the recogniser's lowest confidence over the value's text

    def describe_zh(self) -> str:
        """A short Chinese location a reviewer can follow, e.g. ``表2 第3行 第2列``."""
        if self.method == "file":
            return "整个文件"
        parts: list[str] = []
        if self.page is not None:
            parts.append(f"第{self.page}页")
        if self.table is not None:
            parts.append(f"表{self.table + 1}")
        if self.row is not None:
            parts.append(f"第{self.row + 1}行")
        if self.col is not None:
            parts.append(f"第{self.col + 1}列")
        if self.paragraph is not None:
            parts.append(f"第{self.paragraph + 1}段")
        if self.bbox is not None and self.table is None:
            x0, top, _, _ = self.bbox
            parts.append(f"坐标({x0:.0f},{top:.0f})")
        if self.label:
            parts.append(f"“{self.label}”处")
        return " ".join(parts) or self.method


class FieldValue(BaseModel):
    key: str
    value: Any = None  # normalised, see module docstring; None unless state == "ok"
    raw: str | None = None  # the text as written in the file
    state: FieldState = "ok"
    error: str | None = None  # why the raw text could not be read as its type (state == "invalid")
    evidence: Evidence | None = None


class Waiver(BaseModel):
    code: str
    application_id: str
    field: str = ""
    by: str
    at: str  # ISO timestamp
    reason: str


class Finding(BaseModel):
    code: str
    severity: Severity
    field: str = ""
    value: Any = None  # what was found
    expected: str | None = None  # what was expected (Chinese)
    message: str  # Chinese, for reviewers
    message_en: str | None = None
    hint: str | None = None  # what to correct (Chinese)
    clause: str | None = None  # clause of the notice
    evidence: Evidence | None = None
    waiver: Waiver | None = None  # set when a reviewer waived this finding
    change: Change | None = None  # relative to the previous run

    @property
    def waived(self) -> bool:
        return self.waiver is not None

    def identity(self) -> tuple[str, str]:
        """What makes two findings 'the same' across runs of one application."""
        return (self.code, self.field)


class ExtractedForm(BaseModel):
    """One file, read. Produced by an extractor; validators never see the file itself."""

    source: str  # file name or object key
    file_type: Literal["docx", "pdf", "image", "unknown"] = "unknown"
    direction: Direction | None = None
    title: str | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    # FILE_* / FORM_* findings raised while reading the file
    intake_findings: list[Finding] = Field(default_factory=list)
    # narrative sections seen (e.g. "三、项目主要内容"), for FORM_UNRECOGNIZED and reviewers
    sections: list[str] = Field(default_factory=list)
    pages: int | None = None
    extract_ms: float | None = None
    # per OCR'd page: page, worker (pid of the process that read it), seconds, the split render / prepare /
    # detect / recognise / layout, or failed (timeout, crashed): for logs and benchmarks, never in a record
    ocr_pages: list[dict[str, Any]] = Field(default_factory=list)
    # our own exception while reading (INTERNAL_ERROR): its traceback, for the log of the process that
    # ran the pipeline (an extraction worker's log is not the run's); never in a record
    internal_traceback: str | None = None

    def value(self, key: str) -> Any:
        fv = self.fields.get(key)
        return fv.value if fv is not None and fv.state == "ok" else None

    def evidence(self, key: str) -> Evidence | None:
        fv = self.fields.get(key)
        return fv.evidence if fv is not None else None

    @property
    def readable(self) -> bool:
        return not any(f.severity == "error" for f in self.intake_findings)


class SourceInfo(BaseModel):
    bucket: str | None = None
    key: str  # object key, or a path relative to the checked folder
    # the file name's raw bytes (hex) when they were not UTF-8 and ``key`` holds them decoded (GB18030)
    key_bytes_hex: str | None = None
    version_id: str | None = None
    etag: str | None = None
    sha256: str | None = None
    size: int | None = None
    uploaded_at: str | None = None  # ISO timestamp (UTC)
    recommender_path: str | None = None  # the <recommender> segment of the key


class Packed(Mapping):
    """A record's per-field detail (``evidence``, ``raw``, ``field_states``: ~50 entries each) held as
    zlib-compressed JSON, read like a dict. A thousand records' evidence as objects is ~45 MB; packed,
    the detail of a record is ~2.5 KB. Every read decodes it: rules and reports read little of it (a
    batch rule the evidence of one field of the records it flags), the record writer all of it once.

    Immutable (copies share it). Serialised as the plain dict it packs, so a record's JSON is the same
    as before; with the context ``{"packed": True}`` as base64 text (the versions index keeps it packed).
    """

    __slots__ = ("blob", "kind")

    def __init__(self, blob: bytes, kind: str) -> None:
        self.blob, self.kind = blob, kind

    @classmethod
    def of(cls, kind: str, value: Mapping) -> Packed:
        adapter = _PACKED_TYPES[kind]
        checked = adapter.validate_python(value)
        try:
            text = adapter.dump_json(checked)
        except ValueError:  # a lone surrogate in a text: kept as written (as the record writer does)
            text = json.dumps(adapter.dump_python(checked, mode="json"), ensure_ascii=False).encode("utf-8", "surrogatepass")
        return cls(zlib.compress(text, 1), kind)

    def json(self) -> bytes:
        return zlib.decompress(self.blob)

    def plain(self) -> dict[str, Any]:
        """The packed dict as JSON values (what a record's JSON holds)."""
        text = self.json()
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return json.loads(text.decode("utf-8", "surrogatepass"))

    def unpack(self) -> dict[str, Any]:
        try:
            return _PACKED_TYPES[self.kind].validate_json(self.json())
        except ValueError:
            return _PACKED_TYPES[self.kind].validate_python(self.plain())

    # Mapping: one decode per call (not one per key)
    def __getitem__(self, key: str) -> Any:
        return self.unpack()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.unpack().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.unpack())

    def __len__(self) -> int:
        return len(self.unpack())

    def items(self):
        return self.unpack().items()

    def keys(self):
        return self.unpack().keys()

    def values(self):
        return self.unpack().values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Packed):
            return self.kind == other.kind and (self.blob == other.blob or self.plain() == other.plain())
        return isinstance(other, Mapping) and self.unpack() == dict(other)

    __hash__ = None  # type: ignore[assignment]  # like a dict

    def __repr__(self) -> str:
        return f"Packed({self.unpack()!r})"

    def __copy__(self) -> Packed:
        return self

    def __deepcopy__(self, memo: dict) -> Packed:
        return self

    def __reduce__(self):
        return Packed, (self.blob, self.kind)


class _PackedAs:
    """``Annotated[Packed, _PackedAs(kind)]``: validated from a dict (packed at once), a Packed, or the
    versions index's base64 text; serialised as described in :class:`Packed`."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        kind = self.kind

        def validate(value: Any) -> Packed:
            if isinstance(value, Packed):
                return value
            if isinstance(value, str):
                return Packed(base64.b64decode(value), kind)
            return Packed.of(kind, value)

        def serialize(value: Packed | Mapping, info: core_schema.SerializationInfo) -> Any:
            if not isinstance(value, Packed):  # a dict set without validation (model_copy(update=...))
                value = Packed.of(kind, value)
            if info.mode == "json":
                if info.context and info.context.get("packed"):
                    return base64.b64encode(value.blob).decode("ascii")
                return value.plain()
            return _PACKED_TYPES[kind].dump_python(value.unpack())

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(serialize, info_arg=True))


class Record(BaseModel):
    application_id: str
    campaign: str
    direction: Direction | None = None
    status: Status
    recommender_path: str | None = None  # what the upload was filed under
    recommender_unit: str | None = None  # canonical unit, from validators.recommenders
    fields: dict[str, Any] = Field(default_factory=dict)
    # per field, packed (class Packed): read like dicts
    field_states: Annotated[Packed, _PackedAs("field_states")] = Field(default_factory=lambda: Packed.of("field_states", {}))
    raw: Annotated[Packed, _PackedAs("raw")] = Field(default_factory=lambda: Packed.of("raw", {}))
    evidence: Annotated[Packed, _PackedAs("evidence")] = Field(default_factory=lambda: Packed.of("evidence", {}))
    findings: list[Finding] = Field(default_factory=list)
    resolved_findings: list[Finding] = Field(default_factory=list)  # fixed since the previous run
    source: SourceInfo
    supersedes: list[SourceInfo] = Field(default_factory=list)  # earlier uploads this one replaces
    superseded_by: SourceInfo | None = None
    file_type: str | None = None
    pipeline_version: str
    processed_at: str  # ISO timestamp of the extraction

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error" and not f.waived]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning" and not f.waived]


_PACKED_TYPES: dict[str, TypeAdapter] = {
    "field_states": TypeAdapter(dict[str, FieldState]),
    "raw": TypeAdapter(dict[str, str | None]),
    "evidence": TypeAdapter(dict[str, Evidence | None]),
}
