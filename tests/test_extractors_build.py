"""Small application forms built in the tests (docx with python-docx, PDF with reportlab).

Not a test module itself: the extractor tests import ``build_items``, ``to_docx`` and ``to_pdf``.
A form is a list of items: ``("p", text)`` paragraphs and ``("table", rows)`` with rows of cell texts;
a cell text of ``None`` continues the cell on its left (gridSpan), ``"^"`` the cell above (vMerge).
"""

from __future__ import annotations

import io

PLATFORM = "用户过亿信息消费大平台"
CENTER = "信息消费体验中心"


def box(options, chosen, tick="☑", blank="☐", sep=" "):
    return sep.join(f"{tick if o in chosen else blank}{o}" for o in options)


def build_items(direction="platform", *, four_col=False, overrides=None, drop=(), title=True):
    """A filled form as items; ``overrides`` maps a label to the text written instead."""
    from formintake.fields import CENTER_FUNCTIONS, CENTER_KINDS, ENTITY_NATURES, SERVICE_SCOPES, TECH_MEANS

    o = dict(overrides or {})

    def v(label, text):
        return o.get(label, text)

    zh = PLATFORM if direction == "platform" else CENTER
    items = []
    if title:
        items += [("p", "2023年新型信息消费示范项目申报书"), ("p", f"（{zh}方向）")]
    cover = [("项目名称", "智慧生活服务平台建设项目"), ("申报单位", "星河数字科技有限公司（盖章）"),
             ("推荐单位", "北京市经济和信息化局（盖章）"), ("申报日期", "2023年8月30日")]
    items += [("p", f"{k}：{v(k, t)}") for k, t in cover if k not in drop]
    basic = [
        ("单位名称", "星河数字科技有限公司"), ("统一社会信用代码", "91110108MA01ABCD2X"),
        ("注册地址", "北京市海淀区中关村大街1号"), ("通讯地址", "北京市海淀区中关村大街1号"),
        ("邮政编码", "100080"), ("单位性质", box(ENTITY_NATURES, {"民营企业"})),
        ("成立时间", "2015年3月2日"), ("注册资本（万元）", "5000"), ("法定代表人", "王大明"),
        ("联系人", "李小红"), ("职务", "总监"), ("联系电话", "138 1234 5678"), ("电子邮箱", "li@xinghe.com"),
        ("员工总数（人）", "1200"), ("其中研发人员（人）", "300"), ("上年度营业收入（万元）", "1.2亿元"),
        ("上年度研发投入（万元）", "800"), ("主营业务", "互联网信息服务"),
    ]
    project = [
        ("项目所在地", "北京市海淀区"), ("项目上线（开业）时间", "2020-05-01"), ("项目总投资（万元）", "20000"),
        ("其中已完成投资（万元）", "15000"), ("主要技术手段", box(TECH_MEANS, {"5G", "人工智能", "大数据"})),
        ("项目简介", "本项目建设面向亿级用户的生活服务平台，融合人工智能与大数据技术，提供一站式信息消费服务。"),
    ]
    if direction == "platform":
        project += [("平台名称", "星河生活APP"), ("上一年度平均月活用户数", "1.2亿"), ("月活统计年度", "2022年"),
                    ("注册用户数", "3亿"), ("服务领域", box(SERVICE_SCOPES, {"网络销售", "生活服务"}))]
    else:
        project += [("体验中心名称", "星河信息消费体验馆"), ("体验中心类型", box(CENTER_KINDS, {"信息消费体验店"})),
                    ("体验中心地址", "北京市朝阳区建国路88号"), ("所在城市", "北京市"), ("体验中心面积（平方米）", "350㎡"),
                    ("功能", box(CENTER_FUNCTIONS, set(CENTER_FUNCTIONS))), ("开业时间", "2021年10月1日"),
                    ("上年度接待人次", "12万")]
    for name, rows in (("一、申报单位基本情况", basic), ("二、项目基本情况", project)):
        items.append(("p", name))
        rows = [(k, v(k, t)) for k, t in rows if k not in drop]
        if four_col:
            table = []
            short = [r for r in rows if len(r[1]) < 20 and "☐" not in r[1] and "☑" not in r[1]]
            long = [r for r in rows if r not in short]
            for i in range(0, len(short) - 1, 2):
                table.append([short[i][0], short[i][1], short[i + 1][0], short[i + 1][1]])
            if len(short) % 2:
                table.append([short[-1][0], short[-1][1], None, None])
            for k, t in long:
                table.append([k, t, None, None])
        else:
            table = [[k, t] for k, t in rows]
        items.append(("table", table))
    items += [("p", "三、项目主要内容"), ("p", "项目主要建设内容如下。"), ("p", "四、项目创新性"), ("p", "创新点。"),
              ("p", "五、示范效应"), ("p", "示范带动。"), ("p", "六、保障措施"), ("p", "组织保障。"),
              ("p", "申报单位承诺"), ("p", "本单位承诺所填报信息真实、准确。"),
              ("p", f"法定代表人（签字）：{v('法定代表人（签字）', '王大明')}"),
              ("p", f"申报单位（盖章）：{v('承诺申报单位', '星河数字科技有限公司')}"),
              ("p", v("承诺日期", "2023年8月30日")),
              ("p", "推荐单位意见"), ("p", v("推荐单位意见", "同意推荐。")), ("p", "推荐单位（盖章）"),
              ("p", v("推荐日期", "2023年9月5日"))]
    return items


def to_docx(items) -> bytes:
    import docx

    d = docx.Document()
    for kind, content in items:
        if kind == "p":
            d.add_paragraph(content)
            continue
        ncols = max(len(r) for r in content)
        t = d.add_table(rows=len(content), cols=ncols)
        for ri, row in enumerate(content):
            for ci, text in enumerate(row):
                if text is None:
                    left = ci - 1
                    while row[left] is None:
                        left -= 1
                    t.cell(ri, left).merge(t.cell(ri, ci))
                elif text == "^":
                    t.cell(ri - 1, ci).merge(t.cell(ri, ci))
                else:
                    t.cell(ri, ci).text = text
            for ci in range(len(row), ncols):
                t.cell(ri, len(row) - 1).merge(t.cell(ri, ci))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


_FONT = None


def _font():
    global _FONT
    if _FONT is None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        _FONT = "STSong-Light"
    return _FONT


def to_pdf(items) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    font = _font()
    st = ParagraphStyle("cn", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    story = []
    for kind, content in items:
        if kind == "p":
            story.append(Paragraph(content, st))
            continue
        ncols = max(len(r) for r in content)
        data, spans = [], []
        for ri, row in enumerate(content):
            cells = []
            for ci in range(ncols):
                text = row[ci] if ci < len(row) else None
                cells.append(Paragraph(text, st) if text not in (None, "^") else "")
            data.append(cells)
            ci = 0
            while ci < ncols:
                cj = ci
                while cj + 1 < ncols and (cj + 1 >= len(row) or row[cj + 1] is None):
                    cj += 1
                if cj > ci:
                    spans.append(("SPAN", (ci, ri), (cj, ri)))
                ci = cj + 1
        widths = [120, 330] if ncols == 2 else [90, 135, 90, 135]
        t = Table(data, colWidths=widths)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               *spans]))
        story.append(t)
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4).build(story)
    return buf.getvalue()
