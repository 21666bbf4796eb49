"""The harmonised threat catalogue: one entry per threat, cross-referenced to NIST AI 100-2
E2025, MITRE ATLAS 5.6.0, the OWASP ML Top 10 (2023) and LLM Top 10 (2025), and to the clauses
of EU AI Act Art. 15 it evidences.

The data ships in ``aisec/taxonomy/data``: ``catalogue.yaml``, ``attack-paths.yaml``,
``atlas-scope.yaml``, ``frameworks.yaml`` and an extract of MITRE ATLAS (Apache-2.0, see
``NOTICE.md``); :func:`load_catalogue` validates it.
"""

from aisec.taxonomy.catalogue import Catalogue, check_catalogue, get_threat, load_catalogue
from aisec.taxonomy.model import (
    AiActClause,
    AtlasTechnique,
    AttackPath,
    Framework,
    FrameworkRef,
    Mitigation,
    ThreatEntry,
)

__all__ = [
    "AiActClause",
    "AtlasTechnique",
    "AttackPath",
    "Catalogue",
    "Framework",
    "FrameworkRef",
    "Mitigation",
    "ThreatEntry",
    "check_catalogue",
    "get_threat",
    "load_catalogue",
]
