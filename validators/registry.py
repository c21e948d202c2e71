"""The rule catalogue: small functions that yield findings, registered under their code.

A per-application rule reads one :class:`ExtractedForm`; a batch rule reads every latest record of a
campaign. Rules never raise for bad data and never import a file-format library.

    @rule("USCC_INVALID")  # severity, title and clause: formintake.findings
    def check_uscc(form, ctx):
        ...
        yield ctx.finding("USCC_INVALID", field="uscc", value=..., expected=..., message=...)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from formintake.config import Campaign
from formintake.findings import RULES, Rule, Scope, make_finding  # noqa: F401  (the catalogue, re-exported)
from formintake.models import Evidence, ExtractedForm, Finding, Severity
from formintake.validators.recommenders import Recommending, recommending


def rule(code: str):
    """Attach a rule function to a catalogued code (formintake.findings); its scope says how it is run."""

    def deco(func):
        r = RULES[code]  # KeyError: catalogue the code first
        if r.func is not None:
            raise ValueError(f"rule {code} registered twice")
        if r.scope == "intake":
            raise ValueError(f"{code} is an intake code: extractors raise it, no rule function runs it")
        RULES[code] = replace(r, func=func)
        return func

    return deco


@dataclass
class RuleContext:
    """What a rule may know besides the form: the campaign and where the upload was filed."""

    campaign: Campaign
    recommender_path: str | None = None  # the <recommender> segment of the object key
    uploaded_at: str | None = None
    _recommending: dict[int, tuple[ExtractedForm, Recommending]] = field(default_factory=dict, repr=False)

    def recommending(self, form: ExtractedForm) -> Recommending:
        """The folder's and the form's recommending units, resolved once per form."""
        hit = self._recommending.get(id(form))
        if hit is None or hit[0] is not form:
            hit = self._recommending[id(form)] = (
                form, recommending(self.recommender_path, form.value("recommender"), self.campaign))
        return hit[1]

    def text(self, code: str, which: str, /, **values: Any) -> str:
        """A catalogued text of ``code`` (formintake.findings, ``Rule.texts``) filled for this campaign."""
        return RULES[code].text(which, self.campaign, **values)

    def finding(
        self,
        code: str,
        *,
        field: str = "",
        value: Any = None,
        expected: str | None = None,
        message: str,
        hint: str | None = None,
        evidence: Evidence | None = None,
        message_en: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        r = RULES[code]
        return Finding(
            code=code,
            severity=severity or r.severity,
            field=field,
            value=value,
            expected=expected,
            message=message,
            message_en=message_en,
            hint=hint,
            clause=r.clause_for(self.campaign),
            evidence=evidence,
        )


def run_application_rules(form: ExtractedForm, ctx: RuleContext) -> list[Finding]:
    """Every per-application rule over one readable form, in catalogue order."""
    out: list[Finding] = []
    for r in RULES.values():
        if r.scope == "application" and r.func is not None:
            try:
                out.extend(r.func(form, ctx))
            except Exception as exc:  # our bug: never lose the upload nor hide the check, never blame the applicant
                logging.getLogger("formintake").exception("rule %s failed on %s", r.code, form.source)
                out.append(make_finding(
                    "INTERNAL_ERROR", field="",
                    message=ctx.text("INTERNAL_ERROR", "rule.message", title=r.title_for(ctx.campaign)),
                    message_en=ctx.text("INTERNAL_ERROR", "rule.message_en", code=r.code,
                                        error=f"{type(exc).__name__}: {exc}")[:300]))
    return out
