"""Rule message texts come from the finding catalogue (formintake/findings.py, ``Rule.texts``), like the
titles: templates filled from the campaign and the values a rule found (issue 11)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from formintake.findings import RULES, campaign_terms

ROOT = Path(__file__).resolve().parents[1]


def test_every_text_a_rule_asks_for_is_catalogued():
    used = set()
    for path in (ROOT / "validators").glob("*.py"):
        for code, which in re.findall(r'ctx\.text\(\s*"([A-Z0-9_]+)",\s*"([a-z_.]+)"', path.read_text("utf-8")):
            used.add((code, which))
            assert which in RULES[code].texts, (path.name, code, which)
    assert used, "no rule reads its texts from the catalogue"
    # every catalogued text is named in the module that asks for its code's texts (some names are picked
    # by a condition or from a table, so this looks for the quoted name, not a whole call)
    sources = {p.name: p.read_text("utf-8") for p in (ROOT / "validators").glob("*.py")}
    for code, r in RULES.items():
        for which in r.texts:
            assert any((f'ctx.text("{code}"' in src or f'RULES["{code}"].text(' in src) and f'"{which}"' in src
                       for src in sources.values()), (code, which)


@pytest.mark.parametrize("code", [c for c, r in RULES.items() if r.texts])
def test_templates_are_well_formed(code, campaign):
    terms = set(campaign_terms(campaign))
    for which, template in RULES[code].texts.items():
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        assert all(re.fullmatch(r"[a-z_]+", n) for n in names), (code, which, names)
        filled = RULES[code].text(which, campaign, **{n: "X" for n in names - terms if n != "area"}, area=1.0)
        assert "{" not in filled and "}" not in filled
