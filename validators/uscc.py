"""统一社会信用代码 (GB 32100-2015): normalise, check, and the USCC_INVALID rule.

python-stdnum's ``stdnum.cn.uscc.validate`` is right for codes whose first eight characters are digits
(almost every 申报单位: 91…, 12…, 52…), but rejects valid codes whose registration authority is a letter
(A… 军队, N… 农业, Y… 其他) by format. Its ``calc_check_digit`` handles letters, so for those we apply
the same position-18 check with it (uscc.md §3).
The inner GB 11714 organisation-code check (positions 9–17) is only reported as ``info``: the
authoritative rule is the position-18 check character.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError

from formintake.models import ExtractedForm, Finding
from formintake.validators.ocr_hints import from_ocr, ocr_note
from formintake.validators.registry import RULES, RuleContext, rule
from formintake.text import PROVINCE_BY_CODE

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 chars: no I, O, Z, S, V
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714, positions 9–16
# letters a person may type for a digit: report them, never map them silently
CONFUSABLE = {"O": "0", "I": "1", "Z": "2", "S": "5"}
NATIONAL_REGION_PREFIX = "10"  # region code 100000: registered by a national authority (no province)

# Position 1 × position 2 (uscc.md §4). The value says whether the entity is a 法人:
# True = a legal person, False = not a legal person (三（一） 具备独立法人资格 fails),
# None = cannot be told from the code (91 covers 分公司 too; 52/71/Y1 may or may not be 法人).
CATEGORIES: dict[str, tuple[str, bool | None]] = {
    "11": ("机关", True),
    "12": ("事业单位", True),
    "13": ("群众团体", True),
    "19": ("其他机构编制类单位", None),
    "21": ("外国常驻新闻机构", False),
    "29": ("其他外交登记机构", None),
    "31": ("律师执业机构", False),  # 合伙 / 个人律师事务所: 非法人组织 (民法典 第102条)
    "32": ("公证处", True),
    "33": ("基层法律服务所", None),
    "34": ("司法鉴定机构", None),
    "35": ("仲裁委员会", True),
    "39": ("其他司法行政登记机构", None),
    "41": ("外国在华文化中心", False),
    "49": ("其他文化登记机构", None),
    "51": ("社会团体", True),
    "52": ("民办非企业单位（社会服务机构）", None),
    "53": ("基金会", True),
    "59": ("其他民政登记机构", None),
    "61": ("外国旅游部门常驻代表机构", False),
    "62": ("港澳台地区旅游部门常驻内地（大陆）代表机构", False),
    "69": ("其他旅游登记机构", None),
    "71": ("宗教活动场所", None),
    "72": ("宗教院校", True),
    "79": ("其他宗教登记机构", None),
    "81": ("基层工会", True),
    "89": ("其他工会登记机构", None),
    "91": ("企业", None),  # 法人企业, but also 分公司 and 非法人企业 (合伙企业、个人独资企业)
    "92": ("个体工商户", False),
    "93": ("农民专业合作社", True),
    "A1": ("军队事业单位", True),
    "A9": ("其他军队登记机构", None),
    "N1": ("组级集体经济组织", True),
    "N2": ("村级集体经济组织", True),
    "N3": ("乡镇级集体经济组织", True),
    "N9": ("其他农业登记机构", None),
    "Y1": ("其他", None),
}
NON_LEGAL_PERSON_CATEGORIES = frozenset(k for k, (_, legal) in CATEGORIES.items() if legal is False)


def normalize_uscc(raw: object) -> str:
    """Full-width -> half-width, drop spaces / hyphens / dots, upper-case. Never maps O->0."""
    if raw is None:
        return ""
    t = unicodedata.normalize("NFKC", str(raw)).upper()
    return re.sub(r"[\s\-_.·—]", "", t)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for 17 characters of the 31-char set (python-stdnum's)."""
    if any(c not in CHARSET for c in first17):
        raise ValueError(f"not a USCC character in {first17!r}")
    return stdnum_uscc.calc_check_digit(first17)


def org_code_check_char(body8: str) -> str | None:
    """The GB 11714 check character of an 8-char organisation-code body (None if not computable)."""
    total = 0
    for c, w in zip(body8, ORG_WEIGHTS):
        if c.isdigit():
            v = int(c)
        elif "A" <= c <= "Z":
            v = ord(c) - ord("A") + 10
        else:
            return None
        total += v * w
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


@dataclass
class UsccCheck:
    """The result of checking one code: ``problems`` empty means valid (position-18 rule)."""

    raw: str
    code: str  # normalised
    problems: list[str] = field(default_factory=list)  # Chinese, one per problem
    confusions: list[str] = field(default_factory=list)  # "O→0" notes
    corrected: str | None = None  # the code with confusable letters replaced, if that makes it valid
    org_code_ok: bool | None = None  # inner GB 11714 check (None: not checked)
    used_stdnum: bool = False
    bad_check_char: bool = False  # the problem is the position-18 check character (the format is right)

    @property
    def valid(self) -> bool:
        return not self.problems


def _text(which: str, **values: object) -> str:
    """A USCC_INVALID text of the catalogue (formintake.findings); these name no campaign term."""
    return RULES["USCC_INVALID"].text(which, None, **values)


def _structure_problems(code: str) -> list[str]:
    out: list[str] = []
    if len(code) != 18:
        out.append(_text("length.problem", n=len(code)))
        return out
    bad = sorted({c for c in code if c not in CHARSET})
    if bad:
        out.append(_text("charset.problem", chars="、".join(bad)))
    if not code[2:8].isdigit():
        out.append(_text("region.problem"))
    return out


def check_uscc(raw: object) -> UsccCheck:
    """Check a 统一社会信用代码 by GB 32100-2015 (format + position-18 check character)."""
    code = normalize_uscc(raw)
    res = UsccCheck(raw="" if raw is None else str(raw), code=code)
    for letter, digit in CONFUSABLE.items():
        if letter in code:
            res.confusions.append(_text("confusion", letter=letter, digit=digit))
    res.problems = _structure_problems(code)
    if not res.problems:
        if code[:8].isdigit():
            # stdnum is right for all-digit authority/category/region codes
            res.used_stdnum = True
            try:
                stdnum_uscc.validate(code)
            except ValidationError:
                res.bad_check_char = True
        elif uscc_check_char(code[:17]) != code[17]:
            # letter authority codes (A/N/Y…): stdnum rejects them by format, so apply the check here
            res.bad_check_char = True
        if res.bad_check_char:
            res.problems.append(_text("checksum.problem", want=uscc_check_char(code[:17]), got=code[17]))
    if res.problems and res.confusions:
        cand = code
        for letter, digit in CONFUSABLE.items():
            cand = cand.replace(letter, digit)
        if cand != code and not _structure_problems(cand) and uscc_check_char(cand[:17]) == cand[17]:
            res.corrected = cand
    if res.valid:
        c9 = org_code_check_char(code[8:16])
        res.org_code_ok = c9 is not None and c9 == code[16]
    return res


def is_valid_uscc(raw: object) -> bool:
    return check_uscc(raw).valid


def uscc_category(code: str) -> tuple[str, str, bool | None] | None:
    """(type code, Chinese name, legal person?) of a normalised code, or None if the type is unknown."""
    k = code[:2]
    if k in CATEGORIES:
        name, legal = CATEGORIES[k]
        return k, name, legal
    return None


def uscc_province(code: str) -> str | None:
    """Province of the registration authority (positions 3–4), None for national or unknown codes."""
    return PROVINCE_BY_CODE.get(code[2:4]) if len(code) >= 4 else None


def is_prc_region(code: str) -> bool:
    """Positions 3–4 are a PRC province-level division (or 10: a national authority)."""
    return code[2:4] in PROVINCE_BY_CODE or code[2:4] == NATIONAL_REGION_PREFIX


def valid_uscc_of(form: ExtractedForm) -> str | None:
    """The normalised USCC of a form when it is present and valid, else None (rules that need a
    valid code skip; USCC_INVALID reports the rest)."""
    v = form.value("uscc")
    if not v:
        return None
    res = check_uscc(v)
    return res.code if res.valid else None


@rule("USCC_INVALID")
def check_uscc_field(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """Format and check character; an unreadable USCC (extractor state ``invalid``) is reported here,
    not as FIELD_INVALID_FORMAT. The inner organisation-code check is info only."""
    fv = form.fields.get("uscc")
    if fv is None or fv.state in ("missing", "placeholder"):
        return  # FIELD_MISSING / FIELD_PLACEHOLDER
    raw = fv.value if fv.state == "ok" else fv.raw
    if raw is None or not str(raw).strip():
        return
    res = check_uscc(raw)
    ev = fv.evidence
    if not res.valid:
        msg = ctx.text("USCC_INVALID", "confusions.message" if res.confusions else "message", raw=raw,
                       problems="；".join(res.problems), confusions="、".join(res.confusions))
        if from_ocr(fv):
            msg = ctx.text("USCC_INVALID", "ocr.message", message=msg, note=ocr_note(str(raw), is_valid_uscc).rstrip("。"))
        if res.corrected:
            hint = ctx.text("USCC_INVALID", "corrected.hint", corrected=res.corrected)
        else:
            hint = ctx.text("USCC_INVALID", "checksum.hint" if res.bad_check_char else "hint")
        yield ctx.finding("USCC_INVALID", field="uscc", value=str(raw), expected=ctx.text("USCC_INVALID", "expected"),
                          message=msg, hint=hint, evidence=ev)
    elif res.org_code_ok is False:
        yield ctx.finding(
            "USCC_INVALID",
            severity="info",
            field="uscc",
            value=str(raw),
            expected=ctx.text("USCC_INVALID", "org_code.expected"),
            message=ctx.text("USCC_INVALID", "org_code.message", code=res.code,
                             check=org_code_check_char(res.code[8:16])),
            hint=ctx.text("USCC_INVALID", "org_code.hint"),
            evidence=ev,
        )
