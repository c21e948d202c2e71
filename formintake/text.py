"""Text normalisation shared by the core and the rules: names, cities, provinces."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "[", "】": "]", "〔": "[", "〕": "]"})
_SPACES = re.compile(r"\s+")

PROVINCE_SHORT = {
    "北京": "北京市", "天津": "天津市", "河北": "河北省", "山西": "山西省", "内蒙古": "内蒙古自治区",
    "辽宁": "辽宁省", "吉林": "吉林省", "黑龙江": "黑龙江省", "上海": "上海市", "江苏": "江苏省",
    "浙江": "浙江省", "安徽": "安徽省", "福建": "福建省", "江西": "江西省", "山东": "山东省",
    "河南": "河南省", "湖北": "湖北省", "湖南": "湖南省", "广东": "广东省", "广西": "广西壮族自治区",
    "海南": "海南省", "重庆": "重庆市", "四川": "四川省", "贵州": "贵州省", "云南": "云南省",
    "西藏": "西藏自治区", "陕西": "陕西省", "甘肃": "甘肃省", "青海": "青海省", "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区",
}
# GB/T 2260 province prefixes (first two digits of a division code)
PROVINCE_BY_CODE = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区", "21": "辽宁省",
    "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省",
    "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省", "43": "湖南省",
    "44": "广东省", "45": "广西壮族自治区", "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省",
    "53": "云南省", "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
}
# outside mainland China (三（一） 在中华人民共和国境内注册: 港澳台 and abroad are not mainland registrations)
NON_MAINLAND = ("香港", "澳门", "台湾", "中国香港", "中国澳门", "中国台湾")


# The words of a seal / signature note written after a name or as a label hint: 盖章, 公章, 签章, 签字, 签名
# (spaces between the two characters allowed). Every seal pattern is built from this one.
SEAL_WORD = r"(?:盖\s*章|公\s*章|签\s*章|签\s*字|签\s*名)"
# a note at the end of a name: "（盖章）", "(章)", or a bare "盖章"; also "（盖章" whose closing bracket a
# seal stamped over it hid from OCR
SEAL_NOTE = re.compile(rf"\s*(?:[(（]\s*(?:{SEAL_WORD}|章)\s*[)）]?|{SEAL_WORD})\s*$")
# only the note in brackets, the closing one possibly hidden by a seal (extracted values: a bare 签字 may
# be part of the text)
SEAL_NOTE_BRACKETED = re.compile(rf"\s*[(（]\s*{SEAL_WORD}\s*[)）]?\s*$")
# a cell holding nothing but the note
SEAL_ONLY = re.compile(rf"^\s*[(（]?\s*{SEAL_WORD}\s*[)）]?\s*$")

# Two folds, for two purposes:
#   fold        comparison key: NFKC, brackets unified, every white space dropped (names, labels, units)
#   fold_width  display text: full-width ASCII to half-width and the ideographic space to a space, nothing
#               else (values keep their spaces and characters such as ㎡ or ①)
_FW = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FW[0x3000] = 0x20


def fold_width(text: str) -> str:
    """Full-width ASCII -> half-width, ideographic space -> space (brackets become ASCII too)."""
    return text.translate(_FW)


def strip_seal(text: str) -> str:
    """``星河科技有限公司（盖章）`` -> ``星河科技有限公司``."""
    return SEAL_NOTE.sub("", text)


def fold(text: str | None) -> str:
    """NFKC (full-width -> half-width), unify brackets, drop all white space."""
    if not text:
        return ""
    if not isinstance(text, str):  # rules must not crash on a value of an unexpected type
        text = str(text)
    if len(text) > FOLD_CACHE_MAX_CHARS:
        return _fold(text)
    return _fold_cached(text)


# The extractor folds every label, cell and line several times, and the same label texts recur in every
# form: short texts are folded once per process (a bounded cache; long prose is folded each time).
FOLD_CACHE_MAX_CHARS = 200


def _fold(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", text).translate(_BRACKETS))


_fold_cached = lru_cache(maxsize=16384)(_fold)


def name_key(name: str | None) -> str:
    """Compare organisation names: fold, drop brackets themselves (``华润（集团）`` == ``华润集团``)."""
    return re.sub(r"[()\[\]]", "", fold(name))


def city_key(name: str | None) -> str:
    """``深圳`` == ``深圳市`` == ``广东省深圳市``."""
    t = fold(name)
    for full in PROVINCE_SHORT.values():
        if t.startswith(full) and len(t) > len(full) and full not in ("北京市", "天津市", "上海市", "重庆市"):
            t = t[len(full):]
            break
    return t[:-1] if t.endswith("市") and len(t) > 2 else t


def province_of(text: str | None) -> str | None:
    """The province-level region an address or name starts with (full official name), if any."""
    t = fold(text)
    if not t:
        return None
    for short, full in PROVINCE_SHORT.items():
        if t.startswith(full) or t.startswith(short):
            return full
    return None


def is_non_mainland(text: str | None) -> bool:
    t = fold(text)
    return any(t.startswith(p) for p in NON_MAINLAND)
