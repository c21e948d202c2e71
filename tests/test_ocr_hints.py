"""A value read by OCR that fails its format check says it may be a recognition error and shows the
look-alike corrections that would make it valid; the value itself is never changed."""

from __future__ import annotations

from formintake.config import load_campaign
from formintake.models import Evidence, ExtractedForm, FieldValue
from formintake.validators.ocr_hints import ocr_candidates
from formintake.validators.registry import RuleContext, run_application_rules
from formintake.validators.uscc import is_valid_uscc

def _valid_uscc() -> str:
    from formintake.samples.values import base_values

    return base_values("platform", 3)["uscc"]


def _form(key: str, value: str, method: str) -> ExtractedForm:
    ev = Evidence(method=method, page=2, table=0, row=2, col=1, confidence=0.71 if method == "ocr" else None)
    form = ExtractedForm(source="x.pdf", file_type="pdf", direction="platform")
    form.fields[key] = FieldValue(key=key, value=value, raw=value, state="ok", evidence=ev)
    return form


def _finding(form, code):
    ctx = RuleContext(campaign=load_campaign())
    return next((f for f in run_application_rules(form, ctx) if f.code == code), None)


def test_candidates_are_look_alikes_that_pass():
    good = _valid_uscc()
    i = next(i for i, ch in enumerate(good) if ch in "0125")
    misread = good[:i] + {"0": "O", "1": "I", "2": "Z", "5": "S"}[good[i]] + good[i + 1:]
    assert not is_valid_uscc(misread)
    assert good in ocr_candidates(misread, is_valid_uscc)
    assert ocr_candidates("ABC", lambda s: False) == []


def test_uscc_from_ocr_names_the_candidates():
    good = _valid_uscc()
    i = next(i for i, ch in enumerate(good[2:8], start=2) if ch in "0125")  # positions 3–8 are digits
    misread = good[:i] + {"0": "O", "1": "I", "2": "Z", "5": "S"}[good[i]] + good[i + 1:]
    ocr = _finding(_form("uscc", misread, "ocr"), "USCC_INVALID")
    assert ocr is not None and "OCR识别" in ocr.message and f"“{good}”" in ocr.message
    assert ocr.value == misread  # never silently changed
    typed = _finding(_form("uscc", misread, "docx-table"), "USCC_INVALID")
    assert typed is not None and "OCR" not in typed.message


def test_phone_from_ocr():
    f = _finding(_form("contact_phone", "139I2345678", "ocr"), "FIELD_INVALID_FORMAT")
    assert f is not None and "可能是识别错误" in f.message and "“13912345678”" in f.message
    f = _finding(_form("contact_phone", "1391234567", "ocr"), "FIELD_INVALID_FORMAT")  # a digit lost: no candidate
    assert f is not None and "可能是识别错误" in f.message and "候选" not in f.message
    f = _finding(_form("contact_phone", "139I2345678", "pdf-table"), "FIELD_INVALID_FORMAT")
    assert f is not None and "识别错误" not in f.message
    assert _finding(_form("contact_phone", "13912345678", "ocr"), "FIELD_INVALID_FORMAT") is None
