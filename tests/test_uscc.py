"""统一社会信用代码: the GB 32100-2015 check (uscc.md §3, §5), stdnum's letter-authority gap, and
the USCC_INVALID rule."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc as stdnum_uscc

from formintake.config import load_campaign
from formintake.models import Evidence, ExtractedForm, FieldValue
from formintake.validators.registry import RuleContext
from formintake.validators.uscc import (
    WEIGHTS,
    check_uscc,
    check_uscc_field,
    is_prc_region,
    normalize_uscc,
    org_code_check_char,
    uscc_category,
    uscc_check_char,
)

# uscc.md §5
VALID = [
    "91110000600037341L",
    "12440300MB2C92173E",
    "91350200776049653A",
    "123502001549897397",
    "9135021359498494XQ",
    "91350213678251743X",
    "91440101MA5CJQ4N59",
    "12100000400000624D",  # 清华大学: region 100000 (a national registration authority)
]
INVALID = [
    "12440300MB2C92173A",  # wrong last char
    "91350203M0001QAY9B",  # whitelisted by one public validator; we hard-fail (the reviewer may waive)
]


def _with_org_check(first8: str, body8: str) -> str:
    """A code whose inner GB 11714 check and position-18 check are both right."""
    first17 = first8 + body8 + org_code_check_char(body8)
    return first17 + uscc_check_char(first17)


# the letter-authority gap: A1 军队事业单位, N1/N2 集体经济组织, Y1 其他
LETTER_CODES = [
    _with_org_check("A1110000", "MA01H7K2"),
    _with_org_check("N2440305", "MA5FQ8R1"),
    _with_org_check("N1330106", "77410394"),
    _with_org_check("Y1110108", "MA00BJ3X"),
    _with_org_check("A9100000", "40001234"),
]


def test_weights_are_those_of_the_standard():
    assert list(WEIGHTS) == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def test_worked_example_check_char():
    assert uscc_check_char("91110000600037341") == "L"
    assert org_code_check_char("60003734") == "1"


@pytest.mark.parametrize("code", VALID)
def test_valid_vectors(code):
    res = check_uscc(code)
    assert res.valid, res.problems
    assert res.used_stdnum  # all-digit authority: stdnum decides
    assert stdnum_uscc.is_valid(code)
    assert res.org_code_ok is True


@pytest.mark.parametrize("code", INVALID)
def test_invalid_vectors(code):
    res = check_uscc(code)
    assert not res.valid
    assert any("第18位校验码" in p for p in res.problems)
    assert not stdnum_uscc.is_valid(code)


def test_inner_check_x():
    assert org_code_check_char("59498494") == "X"


@pytest.mark.parametrize("code", LETTER_CODES)
def test_letter_authority_codes_stdnum_rejects_we_accept(code):
    assert not stdnum_uscc.is_valid(code)  # the gap: stdnum wants positions 1–8 digits
    res = check_uscc(code)
    assert res.valid, res.problems
    assert not res.used_stdnum
    assert res.org_code_ok is True


@pytest.mark.parametrize("code", LETTER_CODES)
def test_letter_authority_codes_with_a_wrong_check_char_fail(code):
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    res = check_uscc(wrong)
    assert not res.valid
    assert any("第18位校验码" in p for p in res.problems)


@pytest.mark.parametrize(
    "raw",
    [
        "９１１１００００６０００３７３４１Ｌ",  # full-width
        "91110000600037341l",  # lower case
        " 9111 0000 6000 3734 1L ",
        "91-110000-600037341-L",
        "９１１１０００　０６０００３７３４１ｌ",
    ],
)
def test_normalised_before_checking(raw):
    assert normalize_uscc(raw) == "91110000600037341L"
    assert check_uscc(raw).valid


def test_o_for_zero_is_reported_not_mapped():
    res = check_uscc("911100006OOO37341L")
    assert not res.valid
    assert "字母O疑为数字0" in res.confusions
    assert res.corrected == "91110000600037341L"


def test_i_for_one_is_reported():
    res = check_uscc("9I110000600037341L")
    assert not res.valid
    assert "字母I疑为数字1" in res.confusions
    assert res.corrected == "91110000600037341L"


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("91110000600037341", "长度应为18位，实为17位"),
        ("91110000600037341LL", "长度应为18位，实为19位"),
        ("9111A000600037341L", "第3–8位"),
        ("91110000600037341V", "不允许的字符：V"),
    ],
)
def test_format_problems(raw, fragment):
    res = check_uscc(raw)
    assert not res.valid
    assert any(fragment in p for p in res.problems), res.problems


def test_category_and_region_helpers():
    assert uscc_category("92440300MA5FQ8R1XX")[:3] == ("92", "个体工商户", False)
    assert uscc_category("91110000600037341L")[2] is None
    assert uscc_category("ZZ110000600037341L") is None
    assert is_prc_region("91110000600037341L")
    assert is_prc_region("91100000600037341L")  # 100000: a national authority
    assert not is_prc_region("91810000600037341L")  # 81 香港
    assert not is_prc_region("91710000600037341L")  # 71 台湾


# ---- the rule ---------------------------------------------------------------------------------------

EV = Evidence(method="docx-table", table=0, row=2, col=1)


def _run(fv: FieldValue):
    form = ExtractedForm(source="t.docx", file_type="docx", direction="platform", fields={"uscc": fv})
    return list(check_uscc_field(form, RuleContext(campaign=load_campaign("2023"))))


def test_rule_valid_code_no_finding():
    assert _run(FieldValue(key="uscc", value="91110000600037341L", raw="91110000600037341L", evidence=EV)) == []


def test_rule_letter_code_no_finding():
    assert _run(FieldValue(key="uscc", value=LETTER_CODES[0], raw=LETTER_CODES[0], evidence=EV)) == []


def test_rule_bad_check_char_is_an_error_with_evidence():
    [f] = _run(FieldValue(key="uscc", value="12440300MB2C92173A", raw="12440300MB2C92173A", evidence=EV))
    assert (f.code, f.severity, f.field, f.value) == ("USCC_INVALID", "error", "uscc", "12440300MB2C92173A")
    assert f.evidence == EV and f.expected and f.hint and "校验码" in f.message
    assert f.clause == "三"


def test_rule_o_zero_confusion_in_message_and_hint():
    [f] = _run(FieldValue(key="uscc", value="911100006OOO37341L", raw="911100006OOO37341L", evidence=EV))
    assert f.severity == "error"
    assert "字母O疑为数字0" in f.message
    assert "91110000600037341L" in f.hint


def test_rule_unreadable_uscc_from_extractor_is_uscc_invalid():
    [f] = _run(FieldValue(key="uscc", value=None, raw="9111000060003", state="invalid", evidence=EV))
    assert (f.code, f.severity) == ("USCC_INVALID", "error")
    assert "长度" in f.message


@pytest.mark.parametrize("state", ["missing", "placeholder"])
def test_rule_leaves_missing_and_placeholder_to_completeness(state):
    assert _run(FieldValue(key="uscc", value=None, raw="请填写", state=state)) == []


def test_rule_inner_org_check_is_info_only():
    body = "MA5CJQ4N"
    bad_inner = "0" if org_code_check_char(body) != "0" else "1"
    first17 = "91440101" + body + bad_inner
    code = first17 + uscc_check_char(first17)
    assert check_uscc(code).valid and check_uscc(code).org_code_ok is False
    [f] = _run(FieldValue(key="uscc", value=code, raw=code, evidence=EV))
    assert (f.code, f.severity) == ("USCC_INVALID", "info")
