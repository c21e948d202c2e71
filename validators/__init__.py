"""Validators: small rule functions attached to the finding catalogue's codes (formintake.findings, see registry)."""

from formintake.validators.registry import RULES, Rule, RuleContext, make_finding, rule, run_application_rules  # noqa: F401
from formintake.validators import completeness, uscc, eligibility, consistency  # noqa: F401,E402  (per-application rules)
from formintake.validators import routing, batch  # noqa: F401,E402
