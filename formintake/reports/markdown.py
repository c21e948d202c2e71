"""A short Markdown summary of a run for a Prefect artifact (personal data masked)."""

from __future__ import annotations

from .common import STATUS_SHORT_ZH, STATUS_TILES, ReportInput, local_time, quota_cities, quota_units, stats_text, summarize
from .masking import mask_pii


def _cell(v: object) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def summary_markdown(inp: ReportInput, *, max_rules: int = 12) -> str:
    s = summarize(inp)
    out = [
        f"## {inp.campaign.name} 申报材料异常报告",
        "",
        # the campaign's time zone, as in the run names and the report (never UTC ISO for a person)
        f"运行 `{inp.run_id}` · 生成于 {local_time(inp.generated_at, inp.campaign.timezone)}"
        f"（{inp.campaign.timezone_zh}）"
        + (f" · 上次运行 `{inp.previous_run_id}`" if inp.previous_run_id else ""),
        "",
        "| 状态 | 数量 |",
        "|---|---:|",
    ]
    out += [f"| {STATUS_SHORT_ZH[k]} | {s.by_status.get(k, 0)} |" for k in STATUS_TILES]
    out += [
        "",
        f"申报（最新版本）{s.applications} 件；问题：错误 {s.severity['error']} · 警告 {s.severity['warning']}"
        f" · 提示 {s.severity['info']}" + (f" · 已豁免 {s.waived}" if s.waived else "") + "。",
    ]
    if s.rerun:
        out.append(
            f"与上次运行相比：新增 {s.changes['new']} · 持续 {s.changes['persisting']} · 已解决 {s.changes['resolved']}。"
        )
    if inp.stats:
        out.append("运行统计：" + stats_text(inp.stats) + "。")
    rules = [r for r in s.by_rule if r.findings]
    if rules:
        out += ["", "| 规则 | 代码 | 问题数 | 涉及申报 |", "|---|---|---:|---:|"]
        out += [f"| {_cell(r.title)} | `{r.code}` | {r.findings} | {r.applications} |" for r in rules[:max_rules]]
        if len(rules) > max_rules:
            out.append(f"| …另有 {len(rules) - max_rules} 条规则 | | | |")
    qu = quota_units(inp)
    if qu:
        out += ["", "**推荐名额使用（体验中心方向）**", "", "| 推荐单位 | 体验中心 | 名额 | 示范城市额外 | 大平台 |",
                "|---|---:|---:|---:|---:|"]
        for q in qu:
            flag = " ⚠超额" if q["over"] else ""
            out.append(f"| {_cell(q['unit'])} | {q['center_count']}{flag} | {q['center_quota']} | {q['extra_count']}"
                       f" | {q['platform_count']} |")
    qc = [q for q in quota_cities(inp) if q["extras"]]
    if qc:
        out += ["", "**示范城市额外推荐**", "", "| 示范城市 | 省份 | 额外推荐 | 名额 |", "|---|---|---:|---:|"]
        for q in qc:
            flag = " ⚠超额" if q["over"] else ""
            out.append(f"| {_cell(q['city'])} | {_cell(q['province'])} | {q['extras']}{flag} | {q['quota']} |")
    return mask_pii("\n".join(out) + "\n")
