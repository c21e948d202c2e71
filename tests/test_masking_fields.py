"""Personal data is masked by field, not by pattern alone: the malformed phones and e-mails that become
findings (`1391234567`, `liwei#163.com`, full-width ＠) never reach logs or Prefect artifacts in clear;
the reviewers' own files keep them complete."""

from __future__ import annotations

import json
import logging

from formintake.flows.ingest import findings_table
from formintake.logging_setup import MaskPII
from formintake.models import Finding, Record, SourceInfo
from formintake.reports.masking import mask_pii

MALFORMED = {"contact_phone": "1391234567", "contact_email": "liwei#163.com", "contact_name": "李伟",
             "legal_representative": "王建国"}


def _record(email: str = "liwei#163.com") -> Record:
    raw = {**MALFORMED, "contact_email": email}
    findings = [Finding(code="FIELD_INVALID_FORMAT", severity="error", field=k, value=raw[k],
                        message=f"“{raw[k]}”格式不正确（联系人{raw['contact_name']}）")
                for k in ("contact_phone", "contact_email")]
    findings.append(Finding(code="APPLICANT_NAME_MISMATCH", severity="error", field="legal_representative",
                            value="王建国", message="法定代表人王建国与营业执照不符"))
    return Record(application_id="2023-x", campaign="2023", status="rejected", source=SourceInfo(key="江苏省/a.docx"),
                  pipeline_version="t", processed_at="t", fields={"contact_name": "李伟", "legal_representative": "王建国",
                                                                   "applicant_name": "苏州某某科技有限公司"},
                  raw=raw, findings=findings)


def test_artifact_rows_mask_malformed_personal_values():
    for email in ("liwei#163.com", "liwei＠163.com", "ｌｉｗｅｉ＠１６３．ｃｏｍ", "liwei@163"):
        rec = _record(email)
        text = json.dumps(findings_table([rec]), ensure_ascii=False)
        for clear in ("1391234567", email, "李伟", "王建国"):
            assert clear not in text, (clear, text)
        assert "苏州某某科技" in text and "FIELD_INVALID_FORMAT" in text  # not personal: kept
        # the record itself (what reviewers get) is untouched
        assert rec.raw["contact_email"] == email and rec.findings[0].value == "1391234567"


def test_log_lines_mask_malformed_values(caplog):
    logger = logging.getLogger("formintake.test-mask")
    logger.addFilter(MaskPII())
    with caplog.at_level(logging.INFO, logger="formintake.test-mask"):
        logger.info("value %s and %s and %s", "1391234567", "liwei#163.com", "liwei＠163.com")
    assert "1391234567" not in caplog.text and "liwei#163.com" not in caplog.text and "liwei＠163.com" not in caplog.text


def test_plain_figures_are_not_masked():
    assert mask_pii("用户数120000000人，面积300平方米，2023年9月31日") == "用户数120000000人，面积300平方米，2023年9月31日"


def test_names_in_a_file_name_are_masked_by_the_record():
    from formintake.reports.masking import mask_for_record

    rec = _record()
    assert mask_for_record("江苏省/李伟-1391234567-申报书.docx", rec) == "江苏省/李*-139****67-申报书.docx"
    assert mask_for_record("江苏省/李伟.docx", rec.model_dump(mode="json")) == "江苏省/李*.docx"


def test_a_records_packed_raw_text_is_decoded_once_per_lookup_of_its_personal_values():
    """personal_values reads the record's raw text (models.Packed: every access decodes it) once, not
    once per personal field and again for its truth value; the values are those of the plain dict."""
    from formintake.models import Packed
    from formintake.reports.masking import mask_for_record, personal_values

    rec = _record()
    assert isinstance(rec.raw, Packed)
    decodes = []

    class Counting(Packed):  # the same object, its decodes counted
        __slots__ = ()

        def json(self):
            decodes.append(1)
            return Packed.json(self)

    rec.raw.__class__ = Counting
    try:
        got = personal_values(rec)
        assert len(decodes) <= 1, len(decodes)
        assert got == personal_values({"fields": rec.fields, "raw": dict(MALFORMED)})
        decodes.clear()
        assert "1391234567" not in mask_for_record("电话1391234567，李伟", rec) and len(decodes) <= 1
    finally:
        rec.raw.__class__ = Packed
