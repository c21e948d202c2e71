"""The demo batch: ~20 uploads across four recommending units, as a reviewer would receive them.

* 江苏省 (江苏省工业和信息化厅): six experience centers ranked 1..6 (one over the quota of 5, so
  QUOTA_EXCEEDED has something to find; rank 3 is a 280㎡ center), one demonstration-city extra
  (demo_city 无锡市, filed via the province), two platforms (one APPLICANT_NAME_MISMATCH).
* 广东省 (广东省工业和信息化厅): two platforms, two centers (one whose signature page was printed, stamped
  and scanned back into the PDF: that page read by OCR, FILE_OCR_USED), one corrupt upload (FILE_CORRUPT).
* 深圳市 (计划单列市, 深圳市工业和信息化局): two platforms, two centers (one FIELD_MISSING), and one
  platform filled in Word with tracked changes on and legacy form fields (``wordml``): read as accepted.
* 中国移动通信集团有限公司 (central enterprise): two platforms (one USCC_INVALID), one center.

docx and PDF mixed, each with its own :class:`RenderStyle`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from formintake.fields import BY_KEY
from formintake.samples.defects import DEFECT_CODES, apply_defect, defect_samples, make_defect
from formintake.samples.render import RenderStyle, pick_style, render_pdf
from formintake.samples.sample import Sample, build_sample, build_scan_sample
from formintake.samples.scan import ScanStyle, mixed_pdf, scan_pdf
from formintake.samples.values import PLAN_CITY_DEPARTMENTS, base_values, truth_of

CMCC = "中国移动通信集团有限公司"


@dataclass(frozen=True)
class Plan:
    unit: str  # recommender_path
    direction: str
    fmt: str
    city: str | None = None
    province: str | None = None
    rank: int | None = None
    demo_city: str | None = None
    defect: str | None = None
    corp: bool = False  # a central enterprise's subsidiary


PLANS: tuple[Plan, ...] = (
    # six ranked centers: rank 6 is beyond 江苏省's quota of 5 (QUOTA_EXCEEDED, a batch rule)
    *(Plan("江苏省", "experience_center", "docx" if r % 3 else "pdf", province="江苏省", rank=r,
           defect="QUOTA_EXCEEDED" if r == 6 else None) for r in range(1, 7)),
    Plan("江苏省", "experience_center", "docx", city="无锡市", demo_city="无锡市"),
    Plan("江苏省", "platform", "pdf", province="江苏省"),
    Plan("江苏省", "platform", "docx", province="江苏省", defect="APPLICANT_NAME_MISMATCH"),
    Plan("广东省", "platform", "docx", city="广州市"),
    Plan("广东省", "platform", "pdf", city="佛山市"),
    Plan("广东省", "experience_center", "docx", city="东莞市", rank=1),
    Plan("广东省", "platform", "docx", city="广州市", defect="FILE_CORRUPT"),
    Plan("深圳市", "platform", "docx", city="深圳市"),
    Plan("深圳市", "platform", "pdf", city="深圳市"),
    Plan("深圳市", "experience_center", "pdf", city="深圳市", rank=1),
    Plan("深圳市", "experience_center", "docx", city="深圳市", rank=2, defect="FIELD_MISSING"),
    Plan(CMCC, "platform", "pdf", city="杭州市", corp=True),
    Plan(CMCC, "platform", "docx", city="北京市", corp=True, defect="USCC_INVALID"),
    Plan(CMCC, "experience_center", "docx", city="成都市", corp=True, rank=1),
    Plan("深圳市", "platform", "wordml", city="深圳市"),
    Plan("广东省", "experience_center", "scan", city="佛山市", rank=2),
)


def _values(plan: Plan, seed: int) -> dict[str, Any]:
    v = base_values(plan.direction, seed, province=plan.province, city=plan.city)
    if plan.unit in PLAN_CITY_DEPARTMENTS:
        v["recommender"] = PLAN_CITY_DEPARTMENTS[plan.unit]
    if plan.corp:
        v["recommender"] = CMCC
        name = "中移" + v["applicant_name"][2:]  # 中移云启信息科技有限公司
        v.update(applicant_name=name, applicant_name_cover=name, applicant_name_commitment=name,
                 entity_nature="国有控股")
    if plan.rank is not None:
        v["recommend_rank"] = plan.rank
    if plan.demo_city:
        v["demo_city"] = plan.demo_city
    if plan.rank == 3 and plan.unit == "江苏省":
        v["area_sqm"] = 280.0  # CENTER_AREA_BELOW_300: a reviewer decides (原则上)
    return v


def demo_batch(seed: int = 0) -> list[Sample]:
    """About 20 uploads: mostly valid, with a realistic sprinkling of defects (see module docstring)."""
    rng = random.Random(f"demo-batch:{seed}")
    samples: list[Sample] = []
    seen: set[str] = set()  # applicant names and USCC bodies
    for i, plan in enumerate(PLANS):
        s = seed * 1000 + i * 17
        while True:  # distinct companies within the batch
            v = _values(plan, s)
            if v["applicant_name"] not in seen and v["uscc"][8:] not in seen:
                break
            s += 1
        seen.update((v["applicant_name"], v["uscc"][8:]))
        style = pick_style(rng, plan.fmt)
        if plan.defect == "FILE_CORRUPT":
            sample = make_defect("FILE_CORRUPT", plan.direction, plan.fmt, seed=2 * s, province="广东省")
            samples.append(replace(sample, recommender_path=plan.unit))
            continue
        defect = plan.defect or ("CENTER_AREA_BELOW_300" if v.get("area_sqm") == 280.0 else None)
        if plan.fmt == "scan":  # read by OCR: the reviewer is asked to compare with the scan
            defect = "FILE_OCR_USED"
        also: tuple[str, ...] = ()
        if plan.defect and plan.defect in DEFECT_CODES:  # batch codes come from the batch, not the form
            also = apply_defect(plan.defect, v, s).also
        samples.append(build_sample(v, style, plan.fmt, recommender_path=plan.unit, defect=defect,
                                    truth=truth_of(v), also=also))
    return samples


def write_samples(outdir: Path | str, samples: list[Sample]) -> list[Path]:
    """Write ``outdir/<recommender_path>/<name>`` for each sample, plus ``outdir/.truth.jsonl``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    with (outdir / ".truth.jsonl").open("w", encoding="utf-8") as fh:
        for s in samples:
            p = outdir / s.recommender_path / s.name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(s.data)
            paths.append(p)
            fh.write(json.dumps({
                "path": f"{s.recommender_path}/{s.name}", "defect": s.defect, "also": list(s.also),
                "direction": s.direction, "fmt": s.fmt, "truth": s.truth,
            }, ensure_ascii=False) + "\n")
    return paths


def main_samples(outdir: str, kind: str = "demo") -> list[Path]:
    """CLI hook for ``formintake samples OUTDIR [--defects | --scans]``: ``kind`` is ``demo``, ``defects``
    or ``scans``."""
    if kind == "scans":
        return write_samples(outdir, scan_batch())
    if kind == "demo":
        return write_samples(outdir, demo_batch())
    if kind == "defects":
        return write_samples(outdir, defect_samples())
    raise ValueError(f"unknown sample kind {kind!r} (demo, defects or scans)")


def scan_batch(seed: int = 0) -> list:
    """``formintake samples OUT --scans``: scanned uploads of generated forms, each with its truth.

    A stamped colour scan at 200 dpi (boxed ■ ticks); a grayscale one at 150 dpi; a 300 dpi colour scan
    with page 2 fed upside down and the 申报单位承诺 seal left out (STAMP_MISSING); a born-digital PDF
    whose signature page is a stamped scan; the cover photographed as JPEG (sealed) and as PNG (no seal)."""
    out = []
    plans = (
        ("platform", RenderStyle(tick="■"), ScanStyle(dpi=200, skew=1.5), "pdf", None),
        ("experience_center", RenderStyle(table_columns=4), ScanStyle(dpi=150, grayscale=True, jpeg_quality=60), "pdf",
         None),
        ("platform", RenderStyle(), ScanStyle(dpi=300, upside_down=(2,), seals=("cover", "opinion")), "pdf",
         "STAMP_MISSING"),
        ("experience_center", RenderStyle(tick="☒"), ScanStyle(dpi=200, seals=("cover",)), "jpeg", None),
        ("platform", RenderStyle(), ScanStyle(dpi=150, seals=(), dark_edge=True), "png", "STAMP_MISSING"),
    )
    for i, (direction, style, scan, fmt, defect) in enumerate(plans):
        v = base_values(direction, seed * 100 + 40 + i)
        s = build_scan_sample(v, style, scan, seed=seed * 100 + i, fmt=fmt, defect=defect,
                              also=("FILE_OCR_USED",))
        if fmt != "pdf":  # a photo of the cover: only the cover's fields are on it
            s = replace(s, truth={k: x for k, x in s.truth.items() if BY_KEY[k].section == "cover"})
        out.append(s)
    v = base_values("experience_center", seed * 100 + 49)
    pdf = render_pdf(v, RenderStyle())
    s = build_scan_sample(v, RenderStyle(), seed=seed * 100 + 9, also=("FILE_OCR_USED",))
    data = mixed_pdf(pdf, scan_pdf(pdf, ScanStyle(dpi=200), seed * 100 + 9), (3,))
    out.append(replace(s, name=s.name.replace("盖章扫描件", "签章页扫描"), data=data, truth=truth_of(v)))
    return out
