"""Layout -> ExtractedForm: the one assembly step both backends share.

Walk the blocks in order, keep track of the form's section (cover, 一、basic, 二、project, 三–六
narrative, 申报单位承诺, 推荐单位意见), find labels **by their text** (never by position) and take the
value beside them: the next cell(s) of a table row (2- and 4-column rows), the text after
``标签：`` in a paragraph. Labels shared between sections are resolved by the section they sit in.
Values are normalised at the end (:mod:`extractors.normalize`), each with its evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from formintake.extractors.checkbox import read_choices
from formintake.extractors.layout import Layout, Para, Row
from formintake.extractors.normalize import clean_text, is_placeholder, looks_like_date, normalize, parse_date
from formintake.extractors.tuning import TUNING
from formintake.fields import BY_KEY, DIRECTION_OPTIONS, FIELDS, FieldSpec
from formintake.models import Evidence, ExtractedForm, FieldValue
from formintake.findings import make_finding
from formintake.text import SEAL_ONLY, fold

TITLE = "新型信息消费示范项目申报书"
DIRECTION_BY_ZH = {"用户过亿信息消费大平台": "platform", "信息消费体验中心": "experience_center"}
_TITLE_DIRECTION = re.compile(r"\((用户过亿信息消费大平台|信息消费体验中心)(?:方向)?\)")

_UNIT = re.compile(r"^(万元|元|亿元|千元|人|万人|亿人|人次|万人次|亿人次|个|户|万户|㎡|m2|m²|平方米|平米|万平方米|%|年)$", re.I)
_ENUM_PREFIX = re.compile(r"^(\d{1,2}[.、]|\(\d{1,2}\)|\([一二三四五六七八九十]{1,3}\)|[①-⑳])")
_CN_NUM = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
_SECTION_GROUP = {
    "cover": ("cover",), "basic": ("basic",), "project": ("project", "platform", "experience_center"),
    "commitment": ("commitment",), "opinion": ("opinion",), "narrative": (),
}
_HEADING_WORDS = {1: ("基本情况", "申报单位"), 2: ("项目基本情况", "项目情况")}
_TRAILING_DATE = re.compile(r"\s+(\d{4}\s*[年./-]\s*\d{0,2}\s*[月./-]?\s*\d{0,2}\s*日?|年\s+月\s+日)\s*$")


def norm_label(text: str) -> str:
    """``联 系 人：`` -> ``联系人``; ``*注册资本（万元）`` -> ``注册资本(万元)``; numbering dropped."""
    t = fold(text).strip("*★※")
    t = _ENUM_PREFIX.sub("", t)
    return t.rstrip(":").strip("*★※")


def _build_index() -> dict[str, list[FieldSpec]]:
    idx: dict[str, list[FieldSpec]] = {}

    def add(label: str, spec: FieldSpec) -> None:
        lst = idx.setdefault(label, [])
        if spec not in lst:
            lst.append(spec)

    for spec in FIELDS:
        for label in spec.labels:
            nl = norm_label(label)
            add(nl, spec)
            base, _ = _strip_bracket(nl)
            if base and base != nl:
                add(base, spec)
    extra = {
        "commitment_signatory": ("法定代表人签字", "法定代表人签章", "法人代表签字", "法定代表人(签章)"),
        "recommender_opinion": ("推荐意见",),
        "commitment_date": ("承诺日期", "日期"),
        "recommender_date": ("推荐日期", "日期"),
        "apply_date": ("日期",),  # a bare 日期: resolved to the commitment / opinion date by section
        "area_sqm": ("面积(平方米)", "体验中心面积(㎡)"),
    }
    for key, labels in extra.items():
        for label in labels:
            add(norm_label(label), BY_KEY[key])
    return idx


def _strip_bracket(nl: str) -> tuple[str, str | None]:
    m = re.match(r"^(.+?)\(([^()]*)\)$", nl)
    if not m:
        return nl, None
    return m.group(1), m.group(2)


INDEX = _build_index()


@dataclass(frozen=True)
class LabelHit:
    specs: list[FieldSpec]
    label: str  # as written (spaces collapsed)
    unit: str | None = None
    year: int | None = None


def lookup_label(text: str) -> LabelHit | None:
    """The catalogue fields a label names, with the unit / year the label states."""
    if text and len(text) <= TUNING.label_cache_max_chars:
        return _lookup_label_cached(text)
    return _lookup_label(text)


def _lookup_label(text: str) -> LabelHit | None:
    lines = [_SPACE_RUN.sub(" ", ln).strip() for ln in (text or "").split("\n")]
    raw = "".join(ln for ln in lines if ln).rstrip(":：").strip()
    nl = norm_label(text)
    if not nl or len(nl) > TUNING.label_max_chars:
        return None
    hit = _lookup(nl)
    if hit is None:
        return None
    specs, unit, year = hit
    return LabelHit(specs, raw, unit, year)


# every cell and line of a form is looked up, and the forms of a campaign share their labels: a text is
# looked up once per process (the hits are read-only)
_lookup_label_cached = lru_cache(maxsize=16384)(_lookup_label)
_SPACE_RUN = re.compile(r"\s+")


def _lookup(nl: str, depth: int = 0) -> tuple[list[FieldSpec], str | None, int | None] | None:
    if nl in INDEX:
        _, content = _strip_bracket(nl)
        return INDEX[nl], content if content and _UNIT.match(content) else None, None
    base, content = _strip_bracket(nl)
    if content is not None and depth < TUNING.label_unwrap_depth:
        r = _lookup(base, depth + 1)
        if r:
            unit = content if _UNIT.match(content) else r[1]
            return r[0], unit, r[2]
    m = re.match(r"^(\d{4})年度?(.+)$", nl)
    if m and depth < TUNING.label_unwrap_depth:
        rest = m.group(2)
        for cand in (rest, "上一年度" + rest, "上年度" + rest):
            r = _lookup(cand, depth + 1)
            if r:
                return r[0], r[1], int(m.group(1))
    # unit written without brackets at the end: 员工总数人 / 注册资本万元
    m = re.match(r"^(.+?)(万元|亿元|万人|亿人|人次|平方米|㎡)$", nl)
    if m and depth < TUNING.label_unwrap_depth and m.group(1) in INDEX:
        return INDEX[m.group(1)], m.group(2), None
    return None


@dataclass
class _Hit:
    key: str
    raw: str
    evidence: Evidence
    unit: str | None = None
    year: int | None = None


class _Assembler:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.section = "cover"
        self.sec_no = 0
        self.part: str | None = None  # "platform" / "experience_center" inside 二、
        self.hits: dict[str, _Hit] = {}
        self.sections: list[str] = []
        self.cover: list[tuple[str, Evidence]] = []  # non-label cover lines (title, direction)
        self.opinion: list[tuple[str, Evidence]] = []
        self.pending: tuple[LabelHit, FieldSpec, Evidence] | None = None
        self.last_choice: str | None = None  # key of the last checkbox field (rows continuing it)
        self.n_labels = 0

    # driving ------------------------------------------------------------------------------------
    def run(self) -> None:
        for b in self.layout.blocks:
            if isinstance(b, Para):
                lines = b.text.split("\n") if "\n" in b.text else [b.text]
                for ln in lines:
                    self.line(ln, b.evidence, b.boxes if len(lines) == 1 else None)
            else:
                self.row(b)
        self.flush_pending()

    # sections -----------------------------------------------------------------------------------
    def heading(self, folded: str, raw: str) -> bool:
        m = re.match(r"^([一二三四五六七八九十]{1,2})[、.]", folded)
        if m and len(folded) <= TUNING.heading_max_chars:
            n = _cn_int(m.group(1))
            words = _HEADING_WORDS.get(n, ())
            if n > self.sec_no and (n == self.sec_no + 1 or any(w in folded for w in words)
                                    or (self.sec_no >= 2 and n <= TUNING.heading_max_number)):
                self.flush_pending()
                self.sec_no = n
                if "承诺" in folded:
                    self.section = "commitment"
                elif "推荐单位意见" in folded:
                    self.section = "opinion"
                else:
                    self.section = {1: "basic", 2: "project"}.get(n, "narrative")
                self.part = None
                self.sections.append(clean_text(raw))
                return True
            return False
        if folded.startswith("申报单位承诺") and len(folded) <= TUNING.commitment_heading_max_chars:
            self.flush_pending()
            self.section, self.sec_no = "commitment", max(self.sec_no, 7)
            self.sections.append(clean_text(raw))
            return True
        if folded.startswith("推荐单位意见") and self.section != "opinion":
            self.flush_pending()
            self.section, self.sec_no = "opinion", max(self.sec_no, 8)
            self.sections.append("推荐单位意见")
            return False  # the line may carry the opinion itself (推荐单位意见：同意推荐)
        return False

    def heading_like(self, text: str) -> bool:
        f = fold(text)
        return bool(re.match(r"^([一二三四五六七八九十]{1,2})[、.]", f)) and len(f) <= TUNING.heading_max_chars or f.startswith(
            ("申报单位承诺", "推荐单位意见"))

    def sub_part(self, folded: str) -> None:
        if self.section != "project" or len(folded) > TUNING.heading_max_chars:
            return
        if "体验中心" in folded:
            self.part = "experience_center"
        elif "平台" in folded and "名称" not in folded:
            self.part = "platform"

    # paragraphs ---------------------------------------------------------------------------------
    def line(self, raw: str, ev: Evidence, boxes=None) -> None:
        folded = fold(raw)
        if not folded:
            return
        if self.heading(folded, raw):
            return
        if self.section == "narrative":
            return
        if self.pairs(raw, ev, boxes):
            return
        hit = lookup_label(raw)
        if hit is not None:
            spec = self.resolve(hit)
            if spec is None:
                return
            self.n_labels += 1
            if spec.key == "recommender_opinion":
                return  # the heading of the opinion block
            self.flush_pending()
            if spec.type == "text" and self.section in ("basic", "project"):
                self.pending = (hit, spec, ev)  # value on the next line
            else:
                self.put(spec.key, "", _ev(ev, hit.label), hit)
            return
        if self.pending is not None:
            hit, spec, _ = self.pending
            self.pending = None
            self.put(spec.key, raw, _ev(ev, hit.label, _span_bbox(boxes, 0, len(raw))), hit)
            return
        if self.section == "cover":
            self.cover.append((raw, ev))
            m = re.match(r"^(\S{2,12}?)\s+(\S.*)$", raw.strip())
            if m:  # "申报单位（盖章）   星河公司" without a colon
                hit = lookup_label(raw.strip()[: m.start(2)])
                spec = self.resolve(hit) if hit else None
                if spec:
                    self.n_labels += 1
                    self.put(spec.key, m.group(2), _ev(ev, hit.label), hit)
            return
        if self.section in ("commitment", "opinion"):
            if SEAL_ONLY.match(folded):
                return
            if self.date_line(raw, ev, boxes):
                return
            if self.section == "opinion":
                self.opinion.append((raw, ev))
            return
        self.sub_part(folded)

    def date_line(self, raw: str, ev: Evidence, boxes) -> bool:
        t = raw.strip()
        key = "commitment_date" if self.section == "commitment" else "recommender_date"
        # an impossible date (2023年9月31日) is still the date line: FIELD_INVALID_FORMAT, not missing
        if len(fold(t)) <= TUNING.date_line_max_chars and (looks_like_date(t) or is_placeholder(t, BY_KEY[key])):
            self.put(key, t, _ev(ev, None, _span_bbox(boxes, 0, len(raw))), None)
            return True
        return False

    def pairs(self, raw: str, ev: Evidence, boxes) -> bool:
        """``标签：值`` (also several on one line); True when at least one label was read."""
        m = re.search(r"[:：]", raw) or re.search(r"(?<=\S)\s*(?=[☑☐□■☒])", raw)  # 单位性质 ☑民营企业 ☐…
        if not m:
            return False
        hit = lookup_label(raw[: m.start()])
        spec = self.resolve(hit) if hit else None
        if spec is None:
            return False
        self.flush_pending()
        self.n_labels += 1
        start = m.end()
        end = len(raw)
        rest_at = None
        # a second "标签：" later on the line
        for m2 in re.finditer(r"\s+([^\s:：]{1,20})\s*[:：]", raw[start:]):
            h2 = lookup_label(m2.group(1))
            if h2 is not None and self.resolve(h2) is not None:
                end = start + m2.start()
                rest_at = start + m2.start(1)
                break
        value = raw[start:end]
        if self.section in ("commitment", "opinion") and spec.type != "date":
            md = _TRAILING_DATE.search(value)
            if md:
                dkey = "commitment_date" if self.section == "commitment" else "recommender_date"
                self.put(dkey, md.group(1), _ev(ev, None, _span_bbox(boxes, start + md.start(1), start + md.end(1))),
                         None)
                value = value[: md.start()]
        vs = start + (len(value) - len(value.lstrip()))
        self.put(spec.key, value, _ev(ev, hit.label, _span_bbox(boxes, vs, end)), hit)
        if rest_at is not None:
            sub_boxes = boxes[rest_at:] if boxes else None
            self.pairs(raw[rest_at:], ev, sub_boxes)
        return True

    def flush_pending(self) -> None:
        if self.pending is not None:
            hit, spec, ev = self.pending
            self.pending = None
            self.put(spec.key, "", _ev(ev, hit.label), hit)

    # table rows ---------------------------------------------------------------------------------
    def row(self, row: Row) -> None:
        cells = row.cells
        filled = [c for c in cells if c.text.strip()]
        if not filled:
            return
        if len({fold(c.text) for c in filled}) == 1:
            c = filled[0]
            if self.pending is not None and lookup_label(c.text) is None and not self.heading_like(c.text):
                hit, spec, _ = self.pending  # merged label row, then a merged value row
                self.pending = None
                self.put(spec.key, c.text, _ev(c.evidence, hit.label), hit)
                return
            for ln in c.text.split("\n"):
                self.line(ln, c.evidence)
            return
        if len(filled) >= 2 and self.heading_like(filled[0].text):
            # [申报单位承诺 | text, signatory, date] or [推荐单位意见 | opinion, stamp, date]
            self.heading(fold(filled[0].text), filled[0].text)
            for c in filled[1:]:
                for ln in c.text.split("\n"):
                    self.line(ln, c.evidence)
            return
        if self.section == "narrative":
            return
        self.flush_pending()
        hits = [lookup_label(c.text) for c in cells]
        specs = [self.resolve(h) if h else None for h in hits]
        found = False
        i = 0
        while i < len(cells):
            spec = specs[i]
            if spec is None:
                if self.pairs_in_cell(cells[i]):
                    found = True
                i += 1
                continue
            found = True
            self.n_labels += 1
            j = i + 1
            while j < len(cells) and specs[j] is None and not self.pair_cell(cells[j]):
                j += 1
            values = [c for c in cells[i + 1:j] if c.text.strip()] or cells[i + 1:j]
            if spec.type in ("enum", "set"):
                raw = "\n".join(c.text for c in values)
                self.last_choice = spec.key
            else:
                raw = " ".join(c.text for c in values)
                self.last_choice = None
            target = values[0].evidence if values else cells[i].evidence
            self.put(spec.key, raw, _ev(target, hits[i].label), hits[i])
            i = j
        if not found:
            text = "\n".join(c.text for c in filled)
            if self.last_choice and re.search(r"[☑☐□■√✓✔☒]", text):
                h = self.hits[self.last_choice]
                h.raw += "\n" + text  # a checkbox group continued on the next row (merged label cell)
                return
            self.sub_part(fold(text))
        else:
            if not any(s is not None and s.type in ("enum", "set") for s in specs):
                self.last_choice = None

    def pair_cell(self, cell) -> bool:
        """The cell holds its own ``标签：值`` (label and value typed into one cell, 联系电话：138…)."""
        first = cell.text.split("\n", 1)[0]
        m = re.search(r"[:：]", first)
        return bool(m) and self.resolve(lookup_label(first[: m.start()])) is not None

    def pairs_in_cell(self, cell) -> bool:
        found = False
        for ln in cell.text.split("\n"):
            if self.pairs(ln, cell.evidence, None):
                found = True
        return found

    # labels -> keys -----------------------------------------------------------------------------
    def resolve(self, hit: LabelHit | None) -> FieldSpec | None:
        if hit is None:
            return None
        keys = [s.key for s in hit.specs]
        sec = self.section
        if sec == "narrative":
            return None
        if sec == "commitment":
            if "commitment_signatory" in keys or "legal_representative" in keys:
                return BY_KEY["commitment_signatory"]
            if "applicant_name_commitment" in keys or "applicant_name_cover" in keys or "applicant_name" in keys:
                return BY_KEY["applicant_name_commitment"]
            if any(k in keys for k in ("commitment_date", "recommender_date", "apply_date")):
                return BY_KEY["commitment_date"]
        if sec == "opinion":
            if any(k in keys for k in ("commitment_date", "recommender_date", "apply_date")):
                return BY_KEY["recommender_date"]
            if "recommender" in keys:
                return BY_KEY["recommender"]
        if sec == "basic" and "applicant_name_cover" in keys:
            return BY_KEY["applicant_name"]
        if sec != "commitment":
            keys = [k for k in keys if BY_KEY[k].section != "commitment"] or keys
        if "start_date" in keys and "opened_on" in keys:
            if hit.label and "上线" in hit.label:
                return BY_KEY["start_date"]
            if self.part == "experience_center" or self._has("start_date"):
                return BY_KEY["opened_on"] if not self._has("opened_on") else BY_KEY["start_date"]
            return BY_KEY["start_date"]
        group = _SECTION_GROUP.get(sec, ())
        for k in keys:
            if BY_KEY[k].section in group:
                return BY_KEY[k]
        return BY_KEY[keys[0]]

    def _has(self, key: str) -> bool:
        h = self.hits.get(key)
        return h is not None and bool(clean_text(h.raw))

    def put(self, key: str, raw: str, ev: Evidence, hit: LabelHit | None) -> None:
        spec = BY_KEY[key]
        if spec.section in ("platform", "experience_center") and self.section == "project":
            self.part = spec.section
        old = self.hits.get(key)
        if old is not None and clean_text(old.raw) and not _weak(old.raw, spec):
            return  # first written value wins
        self.hits[key] = _Hit(key, raw, ev, hit.unit if hit else None, hit.year if hit else None)


def _weak(raw: str, spec: FieldSpec) -> bool:
    return is_placeholder(clean_text(raw), spec)


def _cn_int(s: str) -> int:
    if s == "十":
        return 10
    if len(s) == 2 and s[0] == "十":
        return 10 + _CN_NUM.get(s[1], 0)
    return _CN_NUM.get(s, 0)


def _ev(ev: Evidence, label: str | None, bbox=None) -> Evidence:
    upd: dict = {"label": label}
    if bbox is not None:
        upd["bbox"] = bbox
    return ev.model_copy(update=upd)


def _span_bbox(boxes, start: int, end: int):
    if not boxes:
        return None
    sel = [b for b in boxes[start:end] if b is not None]
    if not sel:
        return None
    return (round(min(b[0] for b in sel), 1), round(min(b[1] for b in sel), 1),
            round(max(b[2] for b in sel), 1), round(max(b[3] for b in sel), 1))


# the whole form -----------------------------------------------------------------------------------
def assemble(layout: Layout, source: str) -> ExtractedForm:
    form = ExtractedForm(source=source, file_type=layout.file_type, pages=layout.pages)
    form.intake_findings.extend(layout.findings)
    if any(f.severity == "error" for f in layout.findings) and not layout.blocks:
        return form
    a = _Assembler(layout)
    a.run()
    form.sections = a.sections

    for key, h in a.hits.items():
        if key == "direction":
            continue
        spec = BY_KEY[key]
        value, state, error = normalize(spec, h.raw, h.unit)
        form.fields[key] = FieldValue(key=key, value=value, raw=clean_text(h.raw) or None, state=state, error=error,
                                      evidence=h.evidence)
    if a.opinion and not _filled(form, "recommender_opinion"):
        text = clean_text("\n".join(t for t, _ in a.opinion))
        form.fields["recommender_opinion"] = FieldValue(
            key="recommender_opinion", value=text, raw=text, state="ok",
            evidence=_ev(a.opinion[0][1], "推荐单位意见"))
    mau = a.hits.get("mau_prev_avg")
    if mau is not None and mau.year and "mau_year" not in form.fields:
        form.fields["mau_year"] = FieldValue(key="mau_year", value=mau.year, raw=str(mau.year), state="ok",
                                             evidence=mau.evidence)

    # title, recognition, direction
    cover_text = "".join(fold(t) for t, _ in a.cover)
    title_lines = [clean_text(t) for t, _ in a.cover if any(w in fold(t) for w in ("申报书", "示范项目", "方向)"))]
    form.title = "".join(title_lines) or None
    if any(f.severity == "error" for f in form.intake_findings):
        return form  # the file could not be read whole (no text layer, timeout): no verdict on the form
    has_title = TITLE in cover_text or ("信息消费示范项目" in cover_text and "申报书" in cover_text)
    known = len({k for k in a.hits} | set(form.fields))
    if not has_title and known < TUNING.min_labels_without_title:
        form.intake_findings.append(make_finding(
            "FORM_UNRECOGNIZED", message="文件可以打开，但不是新型信息消费示范项目申报书（未找到标题，已知栏目过少）",
            value=known, expected=f"标题“{TITLE}”或至少{TUNING.min_labels_without_title}个申报书栏目",
            evidence=Evidence(method="file"), message_en="not an application form"))
        return form
    _direction(form, a, cover_text)
    return form


def _filled(form: ExtractedForm, key: str) -> bool:
    fv = form.fields.get(key)
    return fv is not None and fv.state == "ok"


def _direction(form: ExtractedForm, a: _Assembler, cover_text: str) -> None:
    title_dir, title_ev, title_raw = None, None, None
    m = _TITLE_DIRECTION.search(cover_text)
    if m:
        title_dir, title_raw = DIRECTION_BY_ZH[m.group(1)], m.group(0)
        for t, ev in a.cover:
            if m.group(1) in fold(t):
                title_ev = _ev(ev, "标题")
                break
    box = a.hits.get("direction")
    box_dirs: list[str] = []
    box_fv = None
    if box is not None:
        chosen = read_choices(box.raw, DIRECTION_OPTIONS).chosen
        box_dirs = [DIRECTION_BY_ZH[c] for c in chosen]
        value, state, error = normalize(BY_KEY["direction"], box.raw)
        box_fv = FieldValue(key="direction", value=DIRECTION_BY_ZH.get(value) if state == "ok" else None,
                            raw=clean_text(box.raw) or None, state=state, error=error, evidence=box.evidence)

    problem = None
    if title_dir and box_dirs and set(box_dirs) != {title_dir}:
        ticked = "、".join(DIRECTION_OPTIONS[0 if d == "platform" else 1] for d in box_dirs)
        problem = f"标题为“{title_raw}”，申报方向勾选为“{ticked}”，二者不一致"
    elif not title_dir and len(box_dirs) > 1:
        problem = "申报方向勾选了两个方向"
    elif not title_dir and not box_dirs:
        problem = "标题和申报方向栏均未写明申报方向"
    if problem:
        form.intake_findings.append(make_finding(
            "FORM_DIRECTION_AMBIGUOUS", field="direction", message=problem,
            expected="用户过亿信息消费大平台 或 信息消费体验中心（标题与勾选一致）",
            evidence=(box_fv.evidence if box_fv else title_ev) or Evidence(method="file"),
            message_en="direction cannot be told or title and checkbox disagree"))
        if box_fv is not None:
            form.fields["direction"] = box_fv.model_copy(update={"value": None, "state": "invalid", "error": problem})
        return
    direction = title_dir or box_dirs[0]
    form.direction = direction
    if box_fv is not None and box_fv.state == "ok":
        form.fields["direction"] = box_fv
    else:
        form.fields["direction"] = FieldValue(key="direction", value=direction, raw=title_raw, state="ok",
                                              evidence=title_ev)
