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
import sys
import zlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, Field, TypeAdapter, model_validator
from pydantic_core import core_schema

from formintake.fields import FIELDS

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


# --------------------------------------------------------------------------- held by the ten thousand
#
# The flow process holds every version's record (with its source and findings) from the plan to the
# reports: at 10,000 uploads every byte per record is 10 MB. Two things pydantic and the transfer from
# the workers cost per instance, and what these models do instead:
#
# * pydantic keeps a set of the names of the fields "explicitly set" in every instance (0.7-1.2 KB each:
#   a set of more than four names), and copies it with every copy. Nothing in formintake reads it
#   (``exclude_unset`` is never used on these models), so a held model reports *every* field as set
#   and shares one set per class (:class:`_AllFields`); assigning, copying and pickling keep working.
# * the same texts (field keys, option values, dates, units, statuses, codes, hints, run ids) arrive as
#   a new string in every record a worker pickles back (and, past the JSON parser's small cache, in
#   every record read from the versions index): they are interned when a record is made, read or
#   unpickled. Free text (names, addresses, phone numbers) is not interned — unique in a real batch, it
#   would only grow the interpreter's table of interned strings — but equal texts within one record
#   (the applicant's name on the cover, in the table and under the commitment) are stored once.

# fields whose values recur across a batch: options, dates, years, and the units and places named
_SHARED_VALUES = frozenset(
    [f.key for f in FIELDS if f.type in ("enum", "set", "date", "year")]
    + ["recommender", "demo_city", "project_location", "center_city"])


def _short(value: Any) -> Any:
    """A text of up to 32 characters (a status, a unit, a folder) as the one shared copy of it."""
    return sys.intern(value) if type(value) is str and len(value) <= 32 else value


def _compact_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``Record.fields`` with interned keys, the values of :data:`_SHARED_VALUES` interned and equal
    texts within the record stored once."""
    own: dict[str, str] = {}
    out: dict[str, Any] = {}
    for k, v in fields.items():
        if k in _SHARED_VALUES:
            if type(v) is str:
                v = sys.intern(v)
            elif type(v) is list:
                v = [sys.intern(x) if type(x) is str else x for x in v]
        elif type(v) is str:
            v = own.setdefault(v, v)
        out[sys.intern(k)] = v
    return out


class _AllFields(set):
    """Every field name of one model class, shared by all its instances as their "fields set" (see
    above). Adding a field's name (pydantic does when a field is assigned) changes nothing: it is in."""

    __slots__ = ()

    def add(self, name: str) -> None:
        pass

    def update(self, *names: Any) -> None:
        pass

    def __copy__(self) -> _AllFields:
        return self

    def __deepcopy__(self, memo: dict) -> _AllFields:
        return self


_ALL_FIELDS: dict[type, _AllFields] = {}


class _SharedFieldsSet:
    """``__pydantic_fields_set__`` of a held model: always the class's :class:`_AllFields`; whatever
    pydantic stores there (at validation, copy, unpickling) is dropped."""

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        cls = type(obj)
        names = _ALL_FIELDS.get(cls)
        if names is None:
            names = _ALL_FIELDS[cls] = _AllFields(cls.__pydantic_fields__)
        return names

    def __set__(self, obj: Any, value: Any) -> None:
        pass


class Held(BaseModel):
    """Base of the models held by the thousand in the flow process (see above): no per-instance fields
    set; :meth:`_compact` interns the instance's short texts when it is validated or unpickled."""

    __pydantic_fields_set__ = _SharedFieldsSet()  # type: ignore[assignment]

    _INTERNED: ClassVar[tuple[str, ...]] = ()  # the text fields interned by _compact

    def _compact(self) -> None:
        d = self.__dict__
        for name in self._INTERNED:
            d[name] = _short(d[name])

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._compact()



class Evidence(Held):
    """Where a value was found, precise enough for a reviewer to open the file at that place."""

    _INTERNED = ("label",)

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


class Finding(Held):
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

    # the catalogue's texts (hints, expectations, clauses, most messages) recur in every finding of a
    # code: every text is interned, whatever its length (a unique message costs one table entry)
    _INTERNED = ("code", "severity", "field", "expected", "message", "message_en", "hint", "clause")

    def _compact(self) -> None:
        d = self.__dict__
        for name in self._INTERNED:
            if type(v := d[name]) is str:
                d[name] = sys.intern(v)

    @model_validator(mode="after")
    def _compacted(self) -> Finding:
        self._compact()
        return self


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


class SourceInfo(Held):
    _INTERNED = ("bucket", "recommender_path")

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


# zlib preset dictionaries for Packed: the JSON a record's detail repeats (keys, evidence's shape, labels,
# states), so a record's evidence packs into ~0.7 KB instead of ~1.3 (raw 1.3 -> 1.1 KB, states 0.3 ->
# 0.06 KB; at level 1, no slower). A blob names its dictionary by checksum (zlib's DICTID): these bytes
# are FROZEN — a stored versions index holds blobs made with them. To change one, add a new version and
# keep this one for reading (tests/test_scale.py pins the checksums). Blobs made without one still read.
_ZDICT_V1_FIELDS = (
    ("direction", "申报方向"), ("project_name", "项目名称"), ("applicant_name_cover", "申报单位（盖章）"),
    ("recommender", "推荐单位（盖章）"), ("demo_city", "示范城市额外推荐"), ("recommend_rank", "推荐排序"), ("apply_date", "申报日期"),
    ("applicant_name", "单位名称"), ("uscc", "统一社会信用代码"), ("registered_address", "注册地址"),
    ("office_address", "通讯地址"), ("postcode", "邮政编码"), ("entity_nature", "单位性质"), ("founded_on", "成立时间"),
    ("registered_capital_wan", "注册资本（万元）"), ("legal_representative", "法定代表人"), ("contact_name", "联系人"),
    ("contact_title", "职务"), ("contact_phone", "联系电话"), ("contact_email", "电子邮箱"), ("employees", "员工总数（人）"),
    ("rnd_staff", "其中研发人员（人）"), ("revenue_prev_wan", "上年度营业收入（万元）"), ("rnd_spend_prev_wan", "上年度研发投入（万元）"),
    ("main_business", "主营业务"), ("project_location", "项目所在地"), ("start_date", "项目上线（开业）时间"),
    ("total_investment_wan", "项目总投资（万元）"), ("invested_wan", "其中已完成投资（万元）"), ("tech_means", "主要技术手段"),
    ("summary", "项目简介"), ("platform_name", "平台名称"), ("mau_prev_avg", "上一年度平均月活用户数"), ("mau_year", "月活统计年度"),
    ("registered_users", "注册用户数"), ("service_scopes", "服务领域"), ("center_name", "体验中心名称"),
    ("center_kind", "体验中心类型"), ("center_address", "体验中心地址"), ("center_city", "所在城市"),
    ("area_sqm", "体验中心面积（平方米）"), ("functions", "功能"), ("opened_on", "开业时间"), ("annual_visitors", "上年度接待人次"),
    ("commitment_signatory", "法定代表人（签字）"), ("commitment_date", "承诺日期"),
    ("applicant_name_commitment", "申报单位（盖章）"), ("recommender_opinion", "推荐单位意见"), ("recommender_date", "推荐日期"),
)


def _zdicts_v1() -> dict[str, bytes]:
    ev = "".join(f'"{k}":{{"method":"pdf-text","table":null,"row":null,"col":null,"paragraph":null,"page":1,'
                 f'"bbox":[123.5,209.1,267.5,222.0],"label":"{label}","confidence":null}},' for k, label in _ZDICT_V1_FIELDS)
    ev += "".join(f'"{k}":{{"method":"docx-table","table":0,"row":1,"col":1,"paragraph":null,"page":null,'
                  f'"bbox":null,"label":"{label}","confidence":null}},' for k, label in _ZDICT_V1_FIELDS)
    return {
        "evidence": ev.encode(),
        "raw": "".join(f'"{k}":"",' for k, _ in _ZDICT_V1_FIELDS).encode(),
        "field_states": ("".join(f'"{k}":"ok",' for k, _ in _ZDICT_V1_FIELDS) + '"missing","placeholder","invalid"').encode(),
    }


_ZDICTS = _zdicts_v1()  # what Packed.of compresses with, by kind
_ZDICT_BY_ID = {zlib.adler32(d): d for d in _ZDICTS.values()}  # what a blob's DICTID names


def _deflate(text: bytes, kind: str) -> bytes:
    z = zlib.compressobj(1, zdict=_ZDICTS[kind])
    return z.compress(text) + z.flush()


def _inflate(blob: bytes) -> bytes:
    if len(blob) > 6 and blob[1] & 0x20:  # FDICT: made with a preset dictionary, named by its adler32
        zdict = _ZDICT_BY_ID.get(int.from_bytes(blob[2:6], "big"))
        if zdict is None:
            raise ValueError("packed with an unknown zlib dictionary")
        z = zlib.decompressobj(zdict=zdict)
        return z.decompress(blob) + z.flush()
    return zlib.decompress(blob)


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
        self.blob, self.kind = blob, sys.intern(kind)  # unpickled: one "evidence" for all, not one each

    @classmethod
    def of(cls, kind: str, value: Mapping) -> Packed:
        adapter = _PACKED_TYPES[kind]
        checked = adapter.validate_python(value)
        try:
            text = adapter.dump_json(checked)
        except ValueError:  # a lone surrogate in a text: kept as written (as the record writer does)
            text = json.dumps(adapter.dump_python(checked, mode="json"), ensure_ascii=False).encode("utf-8", "surrogatepass")
        return cls(_deflate(text, kind), kind)

    def json(self) -> bytes:
        return _inflate(self.blob)

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

    # Mapping: one decode per call (not one per key); one entry read is the only one made into objects
    def __getitem__(self, key: str) -> Any:
        return _PACKED_VALUES[self.kind].validate_python(self.plain()[key])

    def get(self, key: str, default: Any = None) -> Any:
        plain = self.plain()
        return _PACKED_VALUES[self.kind].validate_python(plain[key]) if key in plain else default

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


class Record(Held):
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

    _INTERNED = ("application_id", "campaign", "direction", "status", "recommender_path", "recommender_unit",
                 "file_type", "pipeline_version", "processed_at")  # a second's records share processed_at

    def _compact(self) -> None:
        """The short texts interned (see Held), and ``fields`` (:func:`_compact_fields`)."""
        super()._compact()
        self.__dict__["fields"] = _compact_fields(self.__dict__["fields"])

    @model_validator(mode="after")
    def _compacted(self) -> Record:
        self._compact()
        return self

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error" and not f.waived]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning" and not f.waived]


_PACKED_TYPES: dict[str, TypeAdapter] = {
    "field_states": TypeAdapter(dict[str, FieldState]),
    "raw": TypeAdapter(dict[str, str | None]),
    "evidence": TypeAdapter(dict[str, Evidence | None]),
}
_PACKED_VALUES: dict[str, TypeAdapter] = {  # one entry of each
    "field_states": TypeAdapter(FieldState),
    "raw": TypeAdapter(str | None),
    "evidence": TypeAdapter(Evidence | None),
}
