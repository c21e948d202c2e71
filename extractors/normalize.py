"""Raw text as written -> the normalised value types of :mod:`formintake.models`.

``normalize(spec, raw, label_unit=None)`` returns ``(value, state, error)``:

* ``state == "missing"``: nothing written (blank, underscores only);
* ``state == "placeholder"``: a template hint (forms.md, *Placeholders*) or an unticked checkbox group;
* ``state == "invalid"``: written but not readable as the field's type, ``error`` says why;
* ``state == "ok"``: ``value`` is normalised (persons in persons, money in 万元, area in ㎡, ISO dates).

Units may sit in the label (``上一年度平均月活用户数（亿人）``) or in the value (``1.2亿``, ``500万元``).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from functools import lru_cache

from formintake.extractors.checkbox import read_choices
from formintake.fields import FieldSpec
from formintake.text import SEAL_NOTE_BRACKETED, fold_width


def _cn2an():
    """cn2an's converter, imported on first use."""
    import cn2an  # here: only Chinese numerals need it; the import costs ~0.15 s at each process start

    return cn2an.cn2an


Result = tuple[object, str, str | None]

_WS = re.compile(r"[ \t\u00a0\u2002\u2003\u2009\u200b\u3000]+")
_UNDERSCORES = re.compile(r"[_＿‗﹍﹏]{2,}")
WORD_PLACEHOLDERS = ("单击或点击此处输入文字", "单击此处输入文字", "点击或轻击此处输入文字", "click or tap here to enter text",
                     "click here to enter text")
_PLACEHOLDER = re.compile(
    r"请\s*填\s*写|[(（]\s*填\s*写|^\s*填\s*写|XXX|xxx|××|^\s*[xX×]+\s*$|请\s*勾\s*选|请\s*选\s*择|待\s*填|此处填")
# hints that may also occur in real prose: only when they are (nearly) all there is
_WEAK_PLACEHOLDER = re.compile(r"…|\.\.\.|示\s*例")
_NONE_WORDS = ("无", "暂无", "不适用", "否", "none", "None", "N/A", "n/a")  # "nothing to state": missing
_BLANK = re.compile(r"[\s/\\—–\-_.。、:：]*")
_EMPTY_DATE = re.compile(r"^\s*(\d{4}|[_\s]*)\s*年[\s_]*月[\s_]*日\s*$")

CN_DIGITS = str.maketrans("〇零一二三四五六七八九两", "001234567892")


def clean_text(raw: str) -> str:
    """The text form of a value: widths folded, runs of spaces collapsed, stamp hints dropped."""
    if len(raw) <= CLEAN_CACHE_MAX_CHARS:
        return _clean_text_cached(raw)
    return _clean_text(raw)


# a value is cleaned several times while its form is assembled (first-value-wins checks, normalising,
# the raw text kept): cleaned once per process, for short texts (a bounded cache; speed only)
CLEAN_CACHE_MAX_CHARS = 1000


def _clean_text(raw: str) -> str:
    t = fold_width(raw).replace("\r", "\n")
    t = _UNDERSCORES.sub(" ", t)
    lines = [_WS.sub(" ", ln).strip() for ln in t.split("\n")]
    t = _join_lines([ln for ln in lines if ln])
    t = SEAL_NOTE_BRACKETED.sub("", t).strip()
    return t


_clean_text_cached = lru_cache(maxsize=4096)(_clean_text)


def _join_lines(lines: list[str]) -> str:
    out = ""
    for ln in lines:
        if out and (out[-1].isascii() and out[-1].isalnum()) and (ln[0].isascii() and ln[0].isalnum()):
            out += " " + ln
        else:
            out += ln
    return out


def is_placeholder(text: str, spec: FieldSpec | None = None) -> bool:
    t = text.strip()
    low = t.lower()
    if any(p in low for p in WORD_PLACEHOLDERS):
        return True
    if spec is not None and spec.type == "uscc":
        return bool(re.fullmatch(r"[xX×*]+", t) or re.search(r"请\s*填\s*写|[(（]\s*填\s*写|示例|…", t))
    if spec is not None and spec.type == "date" and _EMPTY_DATE.match(unicodedata.normalize("NFKC", t)):
        return True
    if _PLACEHOLDER.search(t):
        return True
    return bool(_WEAK_PLACEHOLDER.search(t)) and (len(t) <= 30 or bool(re.match(r"^\s*(…|\.\.\.|示\s*例)", t)))


def normalize(spec: FieldSpec, raw: str | None, label_unit: str | None = None) -> Result:
    if raw is None:
        return None, "missing", None
    text = clean_text(raw)
    if not text or _BLANK.fullmatch(text) or text in _NONE_WORDS:
        return None, "missing", None
    if spec.type in ("enum", "set"):
        return _choice(spec, raw)
    if is_placeholder(text, spec):
        return None, "placeholder", None
    fn = _BY_TYPE.get(spec.type, _text)
    return fn(spec, text, label_unit)


# types -------------------------------------------------------------------------------------------
def _text(spec: FieldSpec, text: str, unit: str | None) -> Result:
    return text, "ok", None


def _choice(spec: FieldSpec, raw: str) -> Result:
    ch = read_choices(raw, spec.options)
    if not ch.chosen:
        if ch.glyphs and not ch.unknown:
            return None, "placeholder", None
        t = clean_text(raw)
        if is_placeholder(t, spec):
            return None, "placeholder", None
        return None, "invalid", f"“{t[:40]}”不是可选项（{'、'.join(spec.options)}）"
    if spec.type == "enum":
        if len(ch.chosen) > 1:
            return None, "invalid", f"单选项勾选了多个：{'、'.join(ch.chosen)}"
        return ch.chosen[0], "ok", None
    return ch.chosen, "ok", None


def _email(spec: FieldSpec, text: str, unit: str | None) -> Result:
    t = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", t), "ok", None


def _postcode(spec: FieldSpec, text: str, unit: str | None) -> Result:
    t = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", t), "ok", None


def _uscc(spec: FieldSpec, text: str, unit: str | None) -> Result:
    t = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s\-]+", "", t).upper(), "ok", None


_DASHES = re.compile(r"[‐‑‒–—―－﹣−~～]")


def normalize_phone(text: str) -> str:
    """Spaces dropped, dash variants -> '-'; a mobile number (11 digits from 1) loses its dashes too."""
    t = unicodedata.normalize("NFKC", text)
    t = _DASHES.sub("-", t)
    t = re.sub(r"\s+", "", t)
    t = re.sub(r"^\((0\d{2,3})\)", r"\1-", t)  # (010)12345678
    digits = re.sub(r"\D", "", t)
    core = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    if len(core) == 11 and core.startswith("1") and not re.search(r"[^\d\-+]", t):
        return core
    return t


def _phone(spec: FieldSpec, text: str, unit: str | None) -> Result:
    return normalize_phone(text), "ok", None


# numbers -----------------------------------------------------------------------------------------
_MAG = {"亿": 1e8, "万": 1e4, "千": 1e3, "百": 1e2}
_NUM = re.compile(r"^[+]?\d+(?:\.\d+)?$")
_CN_NUM = re.compile(r"^[〇零一二三四五六七八九十百千万亿两点壹贰叁肆伍陆柒捌玖拾佰仟]+$")


def parse_quantity(text: str) -> tuple[float, str] | None:
    """'1.2亿' -> (1.2e8, ''), '500万元' -> (5e6, '元'), '一亿二千万' -> (1.2e8, ''), '350㎡' -> (350, '㎡').

    Returns the number in ones (magnitudes applied) and the unit word left after it (人, 元, ㎡ …).
    """
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"[\s,，']", "", t)
    t = re.sub(r"^(约|大约|近|超过|逾)", "", t)
    t = re.sub(r"(左右|以上|余|多)$", "", t)
    if not t:
        return None
    # unit word at the end (after the magnitude)
    unit = ""
    m = re.search(r"(人次|人|户|个|位|名|元|平方米|平米|m2|m²|平)$", t, re.I)
    if m:
        unit = m.group(1)
        t = t[: m.start()]
        if unit in ("平方米", "平米", "m2", "m²", "平"):
            unit = "㎡"
    if t.endswith("㎡"):
        unit, t = "㎡", t[:-1]
    if not t:
        return None
    if _NUM.match(t):
        return float(t), unit
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(万亿|亿|万|千|百)", t)
    if m:
        mag = 1e12 if m.group(2) == "万亿" else _MAG[m.group(2)]
        return float(m.group(1)) * mag, unit
    m = re.fullmatch(r"(\d+(?:\.\d+)?)亿(\d+(?:\.\d+)?)万", t)  # 1亿2000万
    if m:
        return float(m.group(1)) * 1e8 + float(m.group(2)) * 1e4, unit
    if _CN_NUM.match(t) or re.fullmatch(r"[\d.〇零一二三四五六七八九十百千万亿两点]+", t):
        convert = _cn2an()
        try:
            v = convert(t, "smart")
            return float(v), unit
        except Exception:
            return None
    return None


def _label_factor(unit: str | None, base: str | None) -> float:
    """How many base units one unit of the label is (label says 亿人 / 万人 / 元 / 亿元 …)."""
    if not unit:
        return 1.0
    u = unit.replace("平方米", "㎡")
    if base == "万元":
        return {"元": 1e-4, "万元": 1.0, "亿元": 1e4, "千元": 0.1}.get(u, 1.0)
    if u.startswith("亿"):
        return 1e8
    if u.startswith("万"):
        return 1e4
    if u.startswith("千"):
        return 1e3
    return 1.0


def _quantity(spec: FieldSpec, text: str, label_unit: str | None) -> float | None | str:
    q = parse_quantity(text)
    if q is None:
        return None
    ones, vunit = q
    magnitude_in_value = bool(re.search(r"[万亿千百]", unicodedata.normalize("NFKC", text)))
    if spec.unit == "万元":
        if magnitude_in_value or vunit == "元":
            # the value states its own unit: ones of 元 -> 万元
            return ones / 1e4
        return ones * _label_factor(label_unit, "万元")
    if magnitude_in_value:
        return ones
    return ones * _label_factor(label_unit, spec.unit)


def _integer(spec: FieldSpec, text: str, unit: str | None) -> Result:
    v = _quantity(spec, text, unit)
    if v is None:
        return None, "invalid", f"“{text[:40]}”不是数字"
    r = round(v)
    if abs(v - r) > 1e-6 * max(1.0, abs(v)):
        return None, "invalid", f"“{text[:40]}”不是整数"
    return int(r), "ok", None


def _decimal(spec: FieldSpec, text: str, unit: str | None) -> Result:
    v = _quantity(spec, text, unit)
    if v is None:
        return None, "invalid", f"“{text[:40]}”不是数字"
    v = round(v, 6)
    return float(v), "ok", None


def _year(spec: FieldSpec, text: str, unit: str | None) -> Result:
    t = unicodedata.normalize("NFKC", text).translate(CN_DIGITS)
    t = re.sub(r"\s+", "", t)
    m = re.fullmatch(r"(\d{4})(年度|年)?", t)
    if not m:
        return None, "invalid", f"“{text[:40]}”不是年份"
    return int(m.group(1)), "ok", None


# dates -------------------------------------------------------------------------------------------
_DATE = re.compile(r"(\d{4})\s*(?:年|\.|-|/)\s*(\d{1,2})\s*(?:月|\.|-|/)\s*(\d{1,2})\s*日?")
_DATE8 = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")


def _cn_date_digits(t: str) -> str:
    """二〇二三年八月三十日 -> 2023年8月30日."""
    def num(s: str) -> str:
        if re.fullmatch(r"[〇零一二三四五六七八九]{4}", s):
            return s.translate(CN_DIGITS)
        convert = _cn2an()
        try:
            return str(convert(s, "normal"))
        except Exception:
            return s
    return re.sub(r"[〇零一二三四五六七八九十两]+", lambda m: num(m.group(0)), t)


def _date_parts(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) as written, whether or not such a day exists (2023年9月31日 -> (2023, 9, 31))."""
    t = unicodedata.normalize("NFKC", text)
    if re.search(r"[〇零一二三四五六七八九十]", t):
        t = _cn_date_digits(t)
    m = _DATE.search(t) or _DATE8.search(t)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def looks_like_date(text: str) -> bool:
    """Written as a date (year, month, day), even an impossible one."""
    return _date_parts(text) is not None


def parse_date(text: str) -> str | None:
    parts = _date_parts(text)
    if parts is None:
        return None
    try:
        return _dt.date(*parts).isoformat()
    except ValueError:
        return None


def _date(spec: FieldSpec, text: str, unit: str | None) -> Result:
    iso = parse_date(text)
    if iso is None:
        parts = _date_parts(text)
        if parts is not None:  # a date's shape, but no such day: say which, never "missing"
            y, mo, d = parts
            why = f"没有{mo}月" if not 1 <= mo <= 12 else f"{y}年{mo}月没有{d}日"
            return None, "invalid", f"“{text[:40]}”不是有效日期（{why}）"
        return None, "invalid", f"“{text[:40]}”不是有效日期"
    return iso, "ok", None


_BY_TYPE = {
    "text": _text, "integer": _integer, "decimal": _decimal, "date": _date, "year": _year,
    "email": _email, "phone": _phone, "postcode": _postcode, "uscc": _uscc,
}
