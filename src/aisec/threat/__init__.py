"""Threat modelling: system profile -> applicable threats -> test plan -> risk register.

::

    from aisec.threat import load_profile, derive_threats, build_risk_register, ai_act_evidence
    profile = load_profile("builtin:digits-classifier")
    tm = derive_threats(profile)
    config = tm.plan_config()          # a ready assessment config
    register = build_risk_register(tm, results, findings)
    ai = ai_act_evidence(tm, results, findings)

The likelihood, impact and residual-risk rules are documented in docs/threat-modelling.md.
"""

from aisec.threat.ai_act import AiActEvidence, ClauseEvidence, ai_act_evidence
from aisec.threat.model import ThreatModel, ThreatRecord, derive_threats
from aisec.threat.plan import Plan, PlannedTest
from aisec.threat.profile import SystemProfile, builtin_profiles, load_profile, parse_profile
from aisec.threat.register import RegisterEntry, RiskRegister, build_risk_register

__all__ = [
    "AiActEvidence",
    "ClauseEvidence",
    "Plan",
    "PlannedTest",
    "RegisterEntry",
    "RiskRegister",
    "SystemProfile",
    "ThreatModel",
    "ThreatRecord",
    "ai_act_evidence",
    "build_risk_register",
    "builtin_profiles",
    "derive_threats",
    "load_profile",
    "parse_profile",
]
