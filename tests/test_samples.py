"""The sample generator: realistic valid forms, every style reads back to the same truth, defects."""

from __future__ import annotations

import io
import json
import random
import re
import unicodedata
import zipfile

import pytest

from formintake.fields import BY_KEY, FIELDS, fields_for
from formintake.samples import (
    DEFECT_CODES,
    RenderStyle,
    base_values,
    demo_batch,
    make_defect,
    render_docx,
    render_pdf,
    truth_of,
    write_samples,
)
from formintake.samples.render import MAU_STYLES, TICK_STYLES, Box, plan_form, register_fonts
from formintake.samples.values import PROVINCES, check_values, uscc_check_char, uscc_is_valid

DIRECTIONS = ("platform", "experience_center")


# --------------------------------------------------------------------------------------------------
# helpers: read the files back with the libraries the extractor uses


def docx_text(data: bytes) -> str:
    """All text of a docx including content-control glyphs, one string (document order of the XML)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


def pdf_text(data: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(p.extract_text() or "" for p in pdf.pages)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --------------------------------------------------------------------------------------------------
# values


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_base_values_are_a_valid_application(direction):
    for seed in range(60):
        v = base_values(direction, seed)
        assert check_values(v) == [], (seed, check_values(v))
        own = {f.key for f in fields_for(direction)} - {"demo_city", "recommend_rank"}
        assert own <= set(v), own - set(v)
        other = "experience_center" if direction == "platform" else "platform"
        assert not any(f.section == other for f in FIELDS if f.key in v)
        assert 60 <= len(v["summary"]) <= 300
        assert v["employees"] >= v["rnd_staff"] and v["invested_wan"] <= v["total_investment_wan"]
        assert v["recommender"].startswith(v["registered_address"][:2])
        prov = next(p for p in PROVINCES.values() if v["registered_address"].startswith(p.name))
        assert v["uscc"][2:4] == prov.code[:2] and v["uscc"].startswith("91")
        if direction == "platform":
            assert v["mau_prev_avg"] >= 100_000_000 and v["mau_year"] == 2022
            assert v["registered_users"] >= v["mau_prev_avg"] and v["service_scopes"]
        else:
            assert v["area_sqm"] >= 300 and v["functions"] == ["展示", "体验", "销售", "培训"] and v["tech_means"]
        for key in ("tech_means", "service_scopes", "functions"):
            if key in v:  # options in forms.md order
                opts = BY_KEY[key].options
                assert v[key] == sorted(v[key], key=opts.index)


def test_uscc_check_char_matches_the_reference_vectors():
    assert uscc_check_char("91110000600037341") == "L"
    assert uscc_is_valid("91440101MA5CJQ4N59") and uscc_is_valid("9135021359498494XQ")
    assert not uscc_is_valid("12440300MB2C92173A")


def test_values_are_deterministic_and_vary_with_the_seed():
    assert base_values("platform", 5) == base_values("platform", 5)
    names = {base_values("experience_center", s)["applicant_name"] for s in range(20)}
    provinces = {base_values("experience_center", s)["registered_address"][:3] for s in range(20)}
    assert len(names) >= 15 and len(provinces) >= 4


# --------------------------------------------------------------------------------------------------
# every style reads back to the same truth (checked on the format-neutral plan)

_ZH = {c: i for i, c in enumerate("零一二三四五六七八九")}


def _zh_to_int(s: str) -> int:
    total, section, num = 0, 0, 0
    for ch in s:
        if ch in _ZH:
            num = _ZH[ch]
        elif ch in "十百千":
            section += (num or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            num = 0
        elif ch == "万":
            section = (section + num) * 10_000
            total += section
            section = num = 0
        elif ch == "亿":
            total = (total + section + num) * 100_000_000
            section = num = 0
    return total + section + num


def read_back(key: str, label: str, text: str):
    """A tiny reference reader for one value cell (what the extractor must manage at least)."""
    t = unicodedata.normalize("NFKC", text).strip()
    spec = BY_KEY[key]
    if spec.type == "date":
        y, m, d = (int(x) for x in re.findall(r"\d+", t))
        return f"{y:04d}-{m:02d}-{d:02d}"
    if spec.type in ("integer", "decimal", "year"):
        t = t.replace(",", "").removesuffix("人次").removesuffix("人").removesuffix("万元").removesuffix("平方米")
        t = t.removesuffix("年")
        if re.search(r"[一二三四五六七八九十]", t):
            return _zh_to_int(t)
        factor = 1
        if t.endswith("亿"):
            factor, t = 100_000_000, t[:-1]
        elif t.endswith("万"):
            factor, t = 10_000, t[:-1]
        elif "万人" in label:
            factor = 10_000
        x = float(t) * factor
        return round(x) if spec.type in ("integer", "year") else x
    return unicodedata.normalize("NFKC", t).replace("，", ",")


def plan_values(values, style):
    """{key: (label, items)} from the plan's label/value cells."""
    labels = {}
    for f in FIELDS:
        for lab in f.labels:
            labels.setdefault(squash(unicodedata.normalize("NFKC", lab)), []).append(f.key)
    out = {}
    for block in plan_form(values, style):
        for row in block.rows or []:
            cells = [c for c in row]
            for lab, val in zip(cells[::2], cells[1::2]):
                if not lab.is_label or not lab.items or not lab.items[0]:
                    continue
                out[squash(lab.items[0])] = val.items
    return out


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("mau", MAU_STYLES)
def test_every_style_spells_the_same_values(direction, mau):
    rng = random.Random(mau)
    for seed in range(8):
        v = base_values(direction, seed)
        style = RenderStyle(
            table_columns=rng.choice((2, 4)), labels=rng.choice(("canonical", "variant")), mau=mau,
            spaced_labels=rng.random() < 0.5, ascii_brackets=rng.random() < 0.5,
            dates=("cn", "fullwidth", "dot", "iso")[seed % 4], numbers=("plain", "comma")[seed % 2],
            tick=TICK_STYLES[seed % len(TICK_STYLES)],
        )
        cells = plan_values(v, style)
        from formintake.samples.render import label_for

        for key, want in truth_of(v).items():
            spec = BY_KEY[key]
            if spec.section not in ("basic", "project", direction) or (key == "mau_year" and style.mau_year_in_label):
                continue
            label = squash(label_for(key, style, v))
            assert label in cells, (key, label)
            items = cells[label]
            if spec.type in ("enum", "set"):
                if style.tick == "delete":
                    got = [o for o in items[0].split("、") if o]
                else:
                    got = [b.option for b in items if isinstance(b, Box) and b.checked]
                assert got == (want if isinstance(want, list) else [want]), (key, items)
            else:
                got = read_back(key, label, "".join(items))
                assert got == want, (key, style, items, want)


def test_labels_are_accepted_variants():
    accepted = {squash(unicodedata.normalize("NFKC", lab)) for f in FIELDS for lab in f.labels}
    for labels in ("canonical", "variant"):
        for d in DIRECTIONS:
            style = RenderStyle(labels=labels, spaced_labels=True, ascii_brackets=True)
            for lab in plan_values(base_values(d, 1), style):
                lab = unicodedata.normalize("NFKC", lab)
                assert lab in accepted or lab == "项目专项信息", lab


# --------------------------------------------------------------------------------------------------
# files


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_docx_opens_and_holds_title_labels_and_values(direction):
    import docx

    v = base_values(direction, 3, recommend_rank=2)
    data = render_docx(v, RenderStyle(table_columns=4, labels="variant", spaced_labels=True, tick="sdt"))
    doc = docx.Document(io.BytesIO(data))
    paras = [p.text for p in doc.paragraphs]
    assert paras[0] == "2023年新型信息消费示范项目申报书"
    assert any(p.startswith("推荐顺序：2") or squash(p).startswith("推荐顺序：2") for p in paras)
    assert len(doc.tables) == 2
    text = docx_text(data)
    for s in (v["uscc"], v["project_name"], v["applicant_name"], "联 系 人", "一、申报单位基本情况", "申报单位承诺",
              "推荐单位意见", "法定代表人（签字）：" + v["legal_representative"]):
        assert s in text, s
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "w14:checkbox" in xml and 'w14:checked w14:val="1"' in xml and "w:gridSpan" in xml


@pytest.mark.parametrize("tick", ["☑", "■", "√", "✓", "☒", "[x]"])
def test_pdf_text_has_labels_values_and_tick_glyphs(tick):
    v = base_values("experience_center", 4)
    data = render_pdf(v, RenderStyle(tick=tick, dates="fullwidth"))
    text = pdf_text(data)
    flat = squash(text)
    for s in ("2023年新型信息消费示范项目申报书", "统一社会信用代码", v["uscc"], v["project_name"], "体验中心面积（平方米）",
              "申报单位承诺", "推荐单位意见", "２０２３年"):
        assert squash(s) in flat, s
    if register_fonts() or tick in ("■", "[x]", "√"):
        assert tick in text
        assert {"☑": "☐", "■": "□", "√": "□", "✓": "☐", "☒": "☐", "[x]": "[ ]"}[tick] in text


def test_pdf_tables_are_ruled():
    import pdfplumber

    v = base_values("platform", 2)
    with pdfplumber.open(io.BytesIO(render_pdf(v, RenderStyle(table_columns=4)))) as pdf:
        tables = [t for p in pdf.pages for t in p.extract_tables()]
    cells = [squash(c or "") for t in tables for row in t for c in row]
    assert v["uscc"] in cells and v["applicant_name"] in cells


# --------------------------------------------------------------------------------------------------
# defects and the batch


@pytest.mark.parametrize("code", DEFECT_CODES)
def test_every_defect_code_produces_bytes(code):
    for fmt in ("docx", "pdf"):
        s = make_defect(code, fmt=fmt)
        assert s.defect == code and s.recommender_path and s.name
        assert isinstance(s.data, bytes)
        if code == "FILE_CORRUPT" and s.fmt == "empty":
            assert s.data == b""
        else:
            assert len(s.data) > 0
        assert len(s.data) < 1_000_000


def test_defect_samples_break_what_they_say():
    assert make_defect("USCC_INVALID").truth["uscc"] and not uscc_is_valid(make_defect("USCC_INVALID").truth["uscc"])
    assert make_defect("CENTER_AREA_BELOW_300").truth["area_sqm"] == 280.0
    s = make_defect("RECOMMENDER_PATH_MISMATCH")
    assert s.recommender_path == "浙江省" and s.truth["recommender"] == "江苏省工业和信息化厅"
    s = make_defect("RECOMMENDER_REGION_MISMATCH")
    assert s.truth["recommender"].startswith("浙江省") and s.truth["registered_address"].startswith("江苏省")
    assert make_defect("APPLICANT_NOT_LEGAL_PERSON", seed=0).truth["uscc"].startswith("92")
    assert make_defect("APPLICANT_NOT_LEGAL_PERSON", seed=1).truth["applicant_name"].endswith("分公司")
    assert "direction" not in make_defect("FORM_DIRECTION_AMBIGUOUS").truth
    assert "platform_name" in make_defect("DIRECTION_FIELDS_MISMATCH", "experience_center").truth
    assert "contact_name" not in make_defect("FIELD_PLACEHOLDER", seed=0).truth
    assert "请填写" in docx_text(make_defect("FIELD_PLACEHOLDER", seed=0).data)
    assert make_defect("FILE_ENCRYPTED").data.startswith(bytes.fromhex("D0CF11E0A1B11AE1"))
    assert b"/Encrypt" in make_defect("FILE_ENCRYPTED", fmt="pdf").data
    assert make_defect("FILE_TYPE_MISMATCH", fmt="pdf").data.startswith(b"%PDF")
    bomb = make_defect("FILE_TOO_LARGE").data
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(bomb)).infolist()) > 50 * 1024 * 1024
    assert squash(pdf_text(make_defect("FILE_NO_TEXT").data)) == ""
    with pytest.raises(Exception):
        pdf_text(make_defect("FILE_CORRUPT", fmt="pdf").data)
    with pytest.raises(ValueError):
        make_defect("CENTER_NO_TECH", "platform")


@pytest.mark.parametrize("code", ["FORM_DIRECTION_AMBIGUOUS", "PLATFORM_NO_SERVICE_SCOPE", "CENTER_FUNCTIONS_INCOMPLETE"])
def test_defects_with_other_seeds_render(code):
    for seed in (1, 2, 3):
        s = make_defect(code, seed=seed, fmt="pdf" if seed % 2 else "docx")
        assert s.data and s.truth


def test_direction_conflict_is_in_the_file():
    s = make_defect("FORM_DIRECTION_AMBIGUOUS", "platform", seed=1)
    text = docx_text(s.data)
    assert "（信息消费体验中心方向）" in text and "申报方向" in text


@pytest.fixture(scope="module")
def batch():
    return demo_batch()


def test_demo_batch_is_realistic(tmp_path, batch):
    assert 18 <= len(batch) <= 24
    units = {s.recommender_path for s in batch}
    assert {"江苏省", "广东省", "深圳市", "中国移动通信集团有限公司"} <= units
    assert {s.fmt for s in batch} >= {"docx", "pdf"} and {s.direction for s in batch} == set(DIRECTIONS)
    js = [s for s in batch if s.recommender_path == "江苏省" and s.direction == "experience_center"
          and not s.truth.get("demo_city")]
    assert sorted(s.truth["recommend_rank"] for s in js) == [1, 2, 3, 4, 5, 6]
    assert any(s.truth.get("demo_city") == "无锡市" for s in batch)
    defects = {s.defect for s in batch if s.defect}
    assert {"CENTER_AREA_BELOW_300", "FIELD_MISSING", "USCC_INVALID", "FILE_CORRUPT"} <= defects
    assert sum(1 for s in batch if s.defect is None) >= 13
    for s in batch:
        if s.defect is None:
            assert uscc_is_valid(s.truth["uscc"])
    assert len({s.truth.get("uscc") for s in batch if s.truth}) == len([s for s in batch if s.truth])
    # same seed -> same truth
    assert [s.truth for s in demo_batch()] == [s.truth for s in batch]
    paths = write_samples(tmp_path, batch)
    assert all(p.is_file() for p in paths)
    lines = [json.loads(x) for x in (tmp_path / ".truth.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(batch) and all((tmp_path / x["path"]).is_file() for x in lines)


def test_demo_pdfs_and_docx_carry_their_truth(batch):
    for s in batch:
        if s.defect == "FILE_CORRUPT" or s.fmt == "scan":  # a scan has no text layer (tests/test_ocr.py)
            continue
        flat = squash(pdf_text(s.data) if s.fmt == "pdf" else docx_text(s.data))
        for key in ("uscc", "applicant_name", "project_name", "contact_email"):
            if key in s.truth:
                assert squash(str(s.truth[key])) in flat, (s.name, key)
