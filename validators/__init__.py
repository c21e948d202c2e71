"""Validators: a catalogue of small rule functions keyed by their finding code (see registry)."""

from formintake.validators.registry import RULES, Rule, RuleContext, make_finding, rule, run_application_rules  # noqa: F401
from formintake.validators import intake  # noqa: F401,E402  (registers the intake codes)
from formintake.validators import completeness, uscc, eligibility, consistency  # noqa: F401,E402  (per-application rules)
from formintake.validators import routing, batch  # noqa: F401,E402
