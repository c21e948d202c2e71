"""Defective samples: one per per-application code of rules.md (Intake, Completeness and format,
Eligibility, Consistency inside one application).

``make_defect(code)`` starts from a valid :func:`base_values` application (registered in 江苏省, so the
recommender is 江苏省工业和信息化厅 and the upload is filed under ``江苏省``), breaks exactly what the code
is about, and renders it. ``Sample.also`` lists codes that the same break unavoidably implies (an
unticked group is also a FIELD_PLACEHOLDER; a blank signatory is also a FIELD_MISSING …). ``seed`` picks
the company and, for codes with several realistic forms, the variant (``seed % n``). Seed 0 renders
with the canonical :class:`RenderStyle`; other seeds draw a random style.

:func:`apply_defect` breaks a values dict in place without rendering, so a batch can sprinkle per-field
defects over its own applications.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass, replace
from typing import Any

from formintake.fields import BY_KEY
from formintake.samples.render import (CJK_FONT, RenderStyle, build_pdf_story, pick_style, register_fonts, render_docx,
                                       render_pdf)
from formintake.samples.sample import Sample, build_sample, file_stem
from formintake.samples.values import (
    COMPANY_SUFFIXES,
    PROVINCES,
    Raw,
    base_values,
    break_uscc,
    find_city,
    truth_of,
    with_uscc_prefix,
    with_uscc_region,
)

INTAKE_CODES = (
    "FILE_CORRUPT", "FILE_ENCRYPTED", "FILE_TOO_LARGE", "FILE_UNSUPPORTED_TYPE", "FILE_TYPE_MISMATCH",
    "FILE_NO_TEXT", "FORM_UNRECOGNIZED", "FORM_DIRECTION_AMBIGUOUS",
)
FIELD_CODES = (
    "FIELD_MISSING", "FIELD_PLACEHOLDER", "FIELD_INVALID_FORMAT", "USCC_INVALID",
    "APPLICANT_NOT_LEGAL_PERSON", "APPLICANT_NOT_PRC_REGISTERED",
    "PLATFORM_MAU_BELOW_100M", "PLATFORM_MAU_WRONG_YEAR", "PLATFORM_NO_SERVICE_SCOPE",
    "CENTER_AREA_BELOW_300", "CENTER_FUNCTIONS_INCOMPLETE", "CENTER_NO_TECH",
    "APPLICANT_NAME_MISMATCH", "USCC_REGION_MISMATCH", "RECOMMENDER_REGION_MISMATCH", "RECOMMENDER_PATH_MISMATCH",
    "NUMBER_INCONSISTENT", "DATE_INCONSISTENT", "DIRECTION_FIELDS_MISMATCH", "COMMITMENT_MISSING",
)
DEFECT_CODES: tuple[str, ...] = INTAKE_CODES + FIELD_CODES
# formats a code is made in (make_defect falls back to the first when asked for another)
DEFECT_FORMATS: dict[str, tuple[str, ...]] = {c: ("docx", "pdf") for c in DEFECT_CODES}
DEFECT_FORMATS["FILE_NO_TEXT"] = ("pdf",)
# the direction a code needs (None: either)
DEFECT_DIRECTION = {
    "PLATFORM_MAU_BELOW_100M": "platform", "PLATFORM_MAU_WRONG_YEAR": "platform",
    "PLATFORM_NO_SERVICE_SCOPE": "platform", "CENTER_AREA_BELOW_300": "experience_center",
    "CENTER_FUNCTIONS_INCOMPLETE": "experience_center", "CENTER_NO_TECH": "experience_center",
    "APPLICANT_NOT_PRC_REGISTERED": "experience_center",  # the center's city stays in the recommender's region
}
# not a secret: the password of the generated FILE_ENCRYPTED sample PDF
ENCRYPTED_SAMPLE_PASSWORD = "xxxf2023"
# upper bound of the unpacked size of the FILE_TOO_LARGE docx (default limit 50 MB)
ZIP_BOMB_BYTES = 64 * 1024 * 1024


@dataclass
class Break:
    """What apply_defect did besides changing values."""

    style: dict[str, Any]  # RenderStyle changes
    recommender_path: str | None = None
    also: tuple[str, ...] = ()
    drop_truth: tuple[str, ...] = ()  # fields the extractor cannot be expected to report


def apply_defect(code: str, v: dict[str, Any], seed: int = 0) -> Break:
    """Break ``v`` (a valid application) in place so that it triggers ``code``."""
    d = v["direction"]
    variant = seed
    b = Break(style={})
    if code == "FIELD_MISSING":
        v[("contact_email", "project_location", "founded_on")[variant % 3]] = None
    elif code == "FIELD_PLACEHOLDER":
        key, text = (("contact_name", "请填写联系人姓名"), ("legal_representative", "XXX"),
                     ("apply_date", "    年  月  日"))[variant % 3]
        v[key] = Raw(text)
    elif code == "FIELD_INVALID_FORMAT":
        key, text = (("contact_email", "liwei#163.com"), ("contact_phone", "1391234567"),
                     ("founded_on", "2015年13月32日"))[variant % 3]
        v[key] = Raw(text)
    elif code == "USCC_INVALID":
        v["uscc"] = break_uscc(v["uscc"])
    elif code == "APPLICANT_NOT_LEGAL_PERSON":
        if variant % 2 == 0:  # 92: 个体工商户
            v["uscc"] = with_uscc_prefix(v["uscc"], "92")
        else:  # a branch
            prov, city = find_city(_city_of(v) or "苏州市")
            short = city.name.removesuffix("市")
            head = v["applicant_name"].replace(short, prov.name.removesuffix("省").removesuffix("市"), 1)
            name = f"{head}{short}分公司"  # 江苏云启信息科技有限公司苏州分公司
            v.update(applicant_name=name, applicant_name_cover=name, applicant_name_commitment=name)
    elif code == "APPLICANT_NOT_PRC_REGISTERED":
        v["registered_address"] = "香港特别行政区湾仔区港湾道18号中环广场35楼"
        b.also = ("USCC_REGION_MISMATCH",)
    elif code == "PLATFORM_MAU_BELOW_100M":
        v["mau_prev_avg"] = 85_000_000 + seed % 10 * 1_000_000
    elif code == "PLATFORM_MAU_WRONG_YEAR":
        v["mau_year"] = 2021
    elif code == "PLATFORM_NO_SERVICE_SCOPE":
        v["service_scopes"] = []
        b.also = ("FIELD_PLACEHOLDER", "FIELD_MISSING")
    elif code == "CENTER_AREA_BELOW_300":
        v["area_sqm"] = 280.0
    elif code == "CENTER_FUNCTIONS_INCOMPLETE":
        v["functions"] = ["展示", "体验", "销售"] if variant % 2 == 0 else ["展示", "销售"]
    elif code == "CENTER_NO_TECH":
        v["tech_means"] = []
        b.also = ("FIELD_PLACEHOLDER", "FIELD_MISSING")
    elif code == "APPLICANT_NAME_MISMATCH":
        name = v["applicant_name"]
        suffix = next(s for s in COMPANY_SUFFIXES if name.endswith(s))
        other = next(s for s in COMPANY_SUFFIXES if s != suffix and s.endswith("有限公司"))
        v["applicant_name_cover"] = name.removesuffix(suffix) + other  # the name before a rename
    elif code == "USCC_REGION_MISMATCH":
        v["uscc"] = with_uscc_region(v["uscc"], "330100")  # 浙江省杭州市, address in another province
    elif code == "RECOMMENDER_REGION_MISMATCH":
        other = "浙江省" if not v["registered_address"].startswith("浙江省") else "江苏省"
        v["recommender"] = PROVINCES[other].department
        b.recommender_path = other
    elif code == "RECOMMENDER_PATH_MISMATCH":
        b.recommender_path = "浙江省" if not str(v["recommender"]).startswith("浙江省") else "江苏省"
    elif code == "NUMBER_INCONSISTENT":
        k = variant % (3 if d == "platform" else 2)
        if k == 0:
            v["rnd_staff"] = v["employees"] + 120
        elif k == 1:
            v["invested_wan"] = round(v["total_investment_wan"] * 1.3, 1)
        else:
            v["registered_users"] = v["mau_prev_avg"] // 2 // 1_000_000 * 1_000_000
    elif code == "DATE_INCONSISTENT":
        if variant % 2 == 0:  # dated before the notice
            v.update(apply_date="2023-07-10", commitment_date="2023-07-10", recommender_date="2023-07-12")
        else:  # went live after the application date
            v["start_date"] = "2023-10-01"
            if d == "experience_center":
                v["opened_on"] = "2023-10-01"
    elif code == "DIRECTION_FIELDS_MISMATCH":
        other = "experience_center" if d == "platform" else "platform"
        ov = base_values(other, seed + 7919, city=_city_of(v))
        for f in BY_KEY.values():
            if f.section == other:
                v[f.key] = ov[f.key]
    elif code == "COMMITMENT_MISSING":
        v["commitment_signatory" if variant % 2 == 0 else "commitment_date"] = None
        b.also = ("FIELD_MISSING",)
    elif code == "FORM_DIRECTION_AMBIGUOUS":
        if variant % 2 == 0:  # no direction anywhere
            b.style = {"title": "none", "direction_checkbox": False}
        else:  # title names one direction, the 申报方向 checkbox ticks the other
            other = "experience_center" if d == "platform" else "platform"
            b.style = {"title": "in_title", "title_direction": other, "direction_checkbox": True}
        b.drop_truth = ("direction",)
    else:
        raise ValueError(f"not a per-field defect: {code}")
    return b


def _city_of(v: dict[str, Any]) -> str | None:
    addr = str(v.get("registered_address"))
    for p in PROVINCES.values():
        for c in p.cities:
            if addr.startswith(p.name + (c.name if c.name != p.name else "")):
                return c.name
    return None


# ---------------------------------------------------------------------------------------------------
# Intake: broken files

def _intake_sample(code: str, v: dict[str, Any], style: RenderStyle, fmt: str, seed: int, path: str) -> Sample:
    stem = file_stem(v)

    def sample(name: str, kind: str, data: bytes, truth: dict[str, Any] | None = None, also=()) -> Sample:
        return Sample(name=name, recommender_path=path, fmt=kind, direction=v["direction"],
                      truth={} if truth is None else truth, defect=code, data=data, style=style, also=also, values=v)

    if code == "FILE_CORRUPT":
        if fmt == "pdf":
            data = render_pdf(v, style)
            return sample(f"{stem}.pdf", "pdf", data[: len(data) * 2 // 5])  # upload cut off: no xref, no trailer
        if seed % 2 == 1:
            return sample(f"{stem}.docx", "empty", b"")
        data = render_docx(v, style)
        return sample(f"{stem}.docx", "docx", data[: len(data) // 2])  # truncated zip: no central directory
    if code == "FILE_ENCRYPTED":
        if fmt == "pdf":
            return sample(f"{stem}.pdf", "pdf", render_pdf(v, style, encrypt_password=ENCRYPTED_SAMPLE_PASSWORD))
        return sample(f"{stem}.docx", "ole", make_ole_encrypted())
    if code == "FILE_TOO_LARGE":
        if fmt == "pdf":  # a real form plus an incompressible scan page (~0.5 MB): test with a small limit
            return sample(f"{stem}.pdf", "pdf", render_padded_pdf(v, style, seed), truth_of(v))
        return sample(f"{stem}.docx", "docx", make_zip_bomb(render_docx(v, style)), truth_of(v))
    if code == "FILE_UNSUPPORTED_TYPE":
        if fmt == "pdf":
            return sample(f"{stem}-扫描件.gif", "gif", make_gif(seed))  # JPEG/PNG/TIFF are read by OCR
        return sample(f"{stem}.xlsx", "xlsx", make_xlsx(v))
    if code == "FILE_TYPE_MISMATCH":  # read by its content: the truth is the whole form
        if fmt == "pdf":
            return sample(f"{stem}.docx", "pdf", render_pdf(v, style), truth_of(v))
        return sample(f"{stem}.pdf", "docx", render_docx(v, style), truth_of(v))
    if code == "FILE_NO_TEXT":
        return sample(f"{stem}-扫描件.pdf", "pdf", make_scan_pdf(seed))
    if code == "FORM_UNRECOGNIZED":
        name = "关于召开2023年信息化工作推进会的通知"
        if fmt == "pdf":
            return sample(f"{name}.pdf", "pdf", make_other_pdf())
        return sample(f"{name}.docx", "docx", make_other_docx())
    raise ValueError(code)


def make_ole_encrypted() -> bytes:
    """What Word writes for a password-protected .docx: an OLE compound file, not a zip."""
    header = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + bytes.fromhex("3E000300FEFF0900")
    header += bytes.fromhex("0600") + bytes(10) + (1).to_bytes(4, "little") + bytes(8)
    header = header.ljust(512, b"\xff")
    body = "EncryptionInfo".encode("utf-16-le").ljust(64, b"\0") + "EncryptedPackage".encode("utf-16-le").ljust(64, b"\0")
    rng = random.Random(4711)
    return header + body.ljust(512, b"\0") + bytes(rng.randrange(256) for _ in range(3072))


def make_zip_bomb(docx: bytes, unpacked: int = ZIP_BOMB_BYTES) -> bytes:
    """The docx plus a highly compressible extra part: ~64 KB packed, ``unpacked`` bytes unpacked."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        chunk = bytes(1024 * 1024)
        info = zipfile.ZipInfo("word/media/image1.bin", date_time=(2023, 8, 20, 10, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(info, "w", force_zip64=True) as fh:
            for _ in range(unpacked // len(chunk)):
                fh.write(chunk)
    return out.getvalue()


def _noise_image(seed: int, w: int, h: int):
    from PIL import Image  # deferred: loaded only when a sample of this kind is drawn

    rng = random.Random(seed)
    return Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))


def render_padded_pdf(v: dict[str, Any], style: RenderStyle, seed: int) -> bytes:
    from reportlab.lib.pagesizes import A4  # deferred: loaded only when a sample of this kind is drawn
    from reportlab.platypus import Image, SimpleDocTemplate

    buf = io.BytesIO()
    img = io.BytesIO()
    _noise_image(seed, 420, 420).save(img, "PNG")
    img.seek(0)
    story = build_pdf_story(v, style) + [Image(img, width=400, height=400)]
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=50, rightMargin=50, invariant=True).build(story)
    return buf.getvalue()


def make_gif(seed: int) -> bytes:
    """A scan saved as GIF: an image format the intake does not read."""
    from PIL import Image  # deferred: loaded only when a sample of this kind is drawn

    out = io.BytesIO()
    Image.open(io.BytesIO(make_png(seed))).save(out, "GIF")
    return out.getvalue()


def make_png(seed: int) -> bytes:
    from PIL import Image, ImageDraw  # deferred: loaded only when a sample of this kind is drawn

    img = Image.new("L", (620, 877), 255)
    draw = ImageDraw.Draw(img)
    rng = random.Random(seed)
    for y in range(120, 800, 28):  # a photographed table
        draw.line((60, y, 560, y), fill=0)
        draw.rectangle((70, y + 8, 70 + rng.randint(40, 120), y + 18), fill=90)
        draw.rectangle((200, y + 8, 200 + rng.randint(80, 330), y + 18), fill=110)
    draw.line((60, 120, 60, 792), fill=0)
    draw.line((190, 120, 190, 792), fill=0)
    draw.line((560, 120, 560, 792), fill=0)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def make_xlsx(v: dict[str, Any]) -> bytes:
    """An applicant's summary sheet uploaded instead of the form."""
    from openpyxl import Workbook  # deferred: loaded only when a sample of this kind is drawn

    wb = Workbook()
    ws = wb.active
    ws.title = "申报信息汇总"
    ws.append(["项目名称", "申报单位", "统一社会信用代码", "联系人", "联系电话"])
    ws.append([v["project_name"], v["applicant_name"], v["uscc"], v["contact_name"], v["contact_phone"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def make_scan_pdf(seed: int) -> bytes:
    """A 'scanned' application: one page with an image and ruled lines, no text layer."""
    from reportlab.lib.pagesizes import A4  # deferred: loaded only when a sample of this kind is drawn
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=True)
    c.drawImage(ImageReader(io.BytesIO(make_png(seed))), 40, 60, width=515, height=720)
    for y in range(120, 760, 40):
        c.rect(60, y, 470, 40)
    c.showPage()
    c.save()
    return buf.getvalue()


OTHER_DOC = [
    ("title", "关于召开2023年信息化工作推进会的通知"),
    ("para", "各有关单位："),
    ("para", "为总结上半年信息化工作进展，部署下一阶段重点任务，经研究，定于2023年8月15日召开信息化工作推进会。现将有关事项通知如下。"),
    ("para", "一、会议时间：2023年8月15日上午9:00"),
    ("para", "二、会议地点：市政府第三会议室"),
    ("para", "三、参会人员：各单位分管负责同志及信息化工作联络员"),
    ("para", "请各单位于8月10日前将参会回执报送至办公室。"),
]


def make_other_docx() -> bytes:
    from docx import Document  # deferred: loaded only when a sample of this kind is drawn

    doc = Document()
    for kind, text in OTHER_DOC:
        p = doc.add_paragraph()
        r = p.add_run(text)
        r.bold = kind == "title"
    t = doc.add_table(rows=3, cols=3)
    t.style = "Table Grid"
    for i, row in enumerate([("单位", "姓名", "职务"), ("市大数据局", "王伟", "副局长"), ("市经信局", "李娜", "处长")]):
        for j, text in enumerate(row):
            t.cell(i, j).text = text
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def make_other_pdf() -> bytes:
    from reportlab.lib import colors  # deferred: loaded only when a sample of this kind is drawn
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    register_fonts()
    st = ParagraphStyle("p", fontName=CJK_FONT, fontSize=11, leading=18, wordWrap="CJK")
    story: list = [Paragraph(text, st) for _, text in OTHER_DOC]
    story.append(Table([("单位", "姓名", "职务"), ("市大数据局", "王伟", "副局长"), ("市经信局", "李娜", "处长")],
                       style=TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                                         ("FONTNAME", (0, 0), (-1, -1), CJK_FONT)])))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, invariant=True).build(story)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------


def make_defect(code: str, direction: str | None = None, fmt: str = "docx", seed: int = 0,
                *, province: str = "江苏省") -> Sample:
    """A sample that triggers ``code`` (one of DEFECT_CODES) and is otherwise a valid application."""
    if code not in DEFECT_CODES:
        raise ValueError(f"unsupported defect code {code}")
    need = DEFECT_DIRECTION.get(code)
    if direction and need and direction != need:
        raise ValueError(f"{code} needs direction {need}")
    direction = direction or need or ("experience_center" if seed % 2 == 0 else "platform")
    if fmt not in DEFECT_FORMATS[code]:
        fmt = DEFECT_FORMATS[code][0]
    v = base_values(direction, seed, province=province)
    style = RenderStyle() if seed == 0 else pick_style(random.Random(f"defect-style:{code}:{seed}"), fmt)
    if code in INTAKE_CODES and code != "FORM_DIRECTION_AMBIGUOUS":
        return _intake_sample(code, v, style, fmt, seed, province)
    b = apply_defect(code, v, seed)
    if b.style:
        style = replace(style, **b.style)
    truth = truth_of(v)
    for k in b.drop_truth:
        truth.pop(k, None)
    return build_sample(v, style, fmt, recommender_path=b.recommender_path, defect=code, truth=truth, also=b.also)


def defect_samples(seed: int = 0) -> list[Sample]:
    """One sample per code and format (docx and PDF where meaningful)."""
    out = []
    for code in DEFECT_CODES:
        for fmt in DEFECT_FORMATS[code]:
            s = make_defect(code, fmt=fmt, seed=seed)
            stem, _, ext = s.name.rpartition(".")
            s.name = f"{code}-{fmt}-{stem}.{ext}"
            out.append(s)
    return out
