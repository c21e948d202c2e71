"""The run's findings artifact at scale: capped (worst first, a last row counting the rest and pointing
to the report), and masked exactly as before with each record's personal values looked up once."""

from __future__ import annotations

from formintake.models import Finding, Record, SourceInfo
from formintake.reports.artifacts import COLUMNS, findings_table, record_masker
from formintake.reports.masking import mask_for_record


def _record(i: int, severity: str, name: str = "李伟", phone: str = "1391234567") -> Record:
    raw = {"contact_phone": phone, "contact_name": name, "contact_email": "liwei#163.com"}
    findings = [Finding(code="FIELD_INVALID_FORMAT", severity=severity, field="contact_phone", value=phone,
                        message=f"“{phone}”格式不正确（联系人{name}）")]
    return Record(application_id=f"2023-{i:04d}", campaign="2023", status="rejected" if severity == "error" else "accepted",
                  source=SourceInfo(key=f"江苏省/{i:04d}-{name}-{phone}.docx"), pipeline_version="t", processed_at="t",
                  fields={"contact_name": name, "applicant_name": f"苏州某某{i}科技有限公司"}, raw=raw, findings=findings)


def test_record_masker_masks_as_mask_for_record():
    rec = _record(1, "error", name="王建国", phone="13912345678")
    mask = record_masker(rec)
    for text in (rec.source.key, "联系人王建国，电话13912345678，邮箱liwei#163.com", "王建 王建国国", "", None, 12345):
        assert mask(text) == mask_for_record(text, rec)
    extra = [("liwei#163.com", "contact_email")]
    assert mask("写的是liwei#163.com", extra) == mask_for_record("写的是liwei#163.com", rec, extra)
    assert "王建国" not in mask(rec.source.key) and "13912345678" not in mask(rec.source.key)


def test_findings_artifact_is_capped_worst_first_with_the_rest_counted():
    records = [_record(i, ("info", "warning", "error")[i % 3]) for i in range(30)]
    full = findings_table(records)
    assert len(full) == 30
    capped = findings_table(records, limit=12)
    assert capped[:12] == full[:12]  # the same rows, worst first
    assert {r["严重程度"] for r in capped[:10]} == {"错误"}
    last = capped[12]
    assert list(last) == list(COLUMNS) and "另有18条未列出" in last["说明"] and "异常报告" in last["说明"]
    assert "错误" not in last["说明"] and "警告8条" in last["说明"] and "提示10条" in last["说明"]  # 10 errors listed
    assert findings_table(records, limit=30) == full  # nothing left over: no extra row
