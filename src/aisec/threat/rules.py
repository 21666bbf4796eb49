"""Documented rules from profile facts to applicability, likelihood and impact of each threat.

Scales (docs/threat-modelling.md): likelihood and impact are integers 1 (very low) to 5 (very
high); risk is likelihood x impact (1-25) with levels low (1-4), medium (5-9), high (10-16) and
critical (17-25). Every rule records the facts it used, so the rationale says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aisec.threat.profile import SystemProfile

LEVELS = {1: "very low", 2: "low", 3: "medium", 4: "high", 5: "very high"}
CRITICALITY_IMPACT = {"low": 2, "medium": 3, "high": 4, "safety-critical": 5}
SENSITIVITY_IMPACT = {"public": 1, "internal": 2, "personal": 4, "special-category": 5}
UNTRUSTED_SOURCES = ("third-party", "user-generated", "web-scraped", "feedback-loop")
CODE_EXECUTING_FORMATS = ("pickle", "pytorch", "joblib", "keras")
"""Formats whose loaders can run code the file carries (``other`` is unknown, not assumed so)."""
VALUE_IMPACT = {"low": 2, "medium": 3, "high": 4, "very-high": 5}


def clamp(value: int) -> int:
    """Keep a likelihood or impact on the 1-5 scale."""
    return max(1, min(5, value))


def risk_level(score: int) -> str:
    """Risk level of a likelihood x impact score: none, low, medium, high or critical."""
    if score <= 0:
        return "none"
    if score <= 4:
        return "low"
    if score <= 9:
        return "medium"
    if score <= 16:
        return "high"
    return "critical"


@dataclass
class Outcome:
    """What the rule of one threat concluded for one profile."""

    applicable: bool
    reasons: list[str] = field(default_factory=list)
    """Profile facts that make the threat apply (or not)."""
    likelihood: list[tuple[int, str]] = field(default_factory=list)
    """Likelihood terms: (points, why); the first is the base."""
    impact: list[tuple[int, str]] = field(default_factory=list)
    """Impact terms: (points, why); the first is the base."""

    def score(self, terms: list[tuple[int, str]]) -> int:
        """Sum of the terms, clamped to 1-5 (0 when the threat does not apply)."""
        return clamp(sum(p for p, _ in terms)) if self.applicable else 0


Rule = Callable[[SystemProfile], Outcome]
RULES: dict[str, Rule] = {}


def rule(threat_id: str) -> Callable[[Rule], Rule]:
    """Register the rule of a catalogue threat."""

    def deco(fn: Rule) -> Rule:
        RULES[threat_id] = fn
        return fn

    return deco


# --- shared terms -----------------------------------------------------------------------------
def _exposure_terms(p: SystemProfile) -> list[tuple[int, str]]:
    if "public-api" in p.exposure:
        return [(1, "reachable through a public API")]
    if "on-device" in p.exposure:
        return [(1, "runs on devices that users control")]
    if p.exposure == ["internal"]:
        return [(-1, "reachable only internally")]
    return []


def _integrity_impact(p: SystemProfile) -> list[tuple[int, str]]:
    terms = [(CRITICALITY_IMPACT[p.criticality], f"criticality {p.criticality}")]
    if p.ai_act_risk_class == "high":
        terms.append((1, "high-risk AI system under the AI Act"))
    return terms


def _privacy_impact(p: SystemProfile) -> list[tuple[int, str]]:
    terms = [
        (
            SENSITIVITY_IMPACT[p.training_data_sensitivity],
            f"training data is {p.training_data_sensitivity}",
        )
    ]
    if p.ai_act_risk_class == "high":
        terms.append((1, "high-risk AI system under the AI Act"))
    return terms


def _output_terms(p: SystemProfile) -> list[tuple[int, str]]:
    if p.reveals_scores:
        return [(1, "answers reveal scores: " + ", ".join(o for o in p.outputs if o != "label"))]
    if set(p.outputs) <= {"label"}:
        return [(-1, "answers reveal only the label")]
    return []


def _code_execution_impact(p: SystemProfile, where: str) -> list[tuple[int, str]]:
    terms = [(4, f"arbitrary code execution on {where}")]
    if p.criticality in ("high", "safety-critical"):
        terms.append((1, f"criticality {p.criticality}"))
    return terms


def _untrusted_sources(p: SystemProfile) -> list[str]:
    return [s for s in p.data_sources if s in UNTRUSTED_SOURCES]


def _trains_nothing(p: SystemProfile) -> bool:
    """An application of a provider's model that it does not fine-tune: it trains nothing."""
    return not p.self_hosted and p.provenance != "fine-tuned"


_PROVIDER_TRAINS = (
    "the application calls a provider's model that it does not fine-tune: "
    "the provider's training data is not the organisation's"
)


# --- integrity at inference -------------------------------------------------------------------
@rule("evasion-digital")
def _evasion_digital(p: SystemProfile) -> Outcome:
    reasons = [f"{p.technology} model on {p.modality} inputs that callers choose"]
    if p.modality == "text":
        reasons.append("crafted text (word substitutions, optimised suffixes) changes its output")
    terms = [(3, "attackers choose the inputs of any deployed model"), *_exposure_terms(p)]
    if p.self_hosted and (p.provenance == "third-party-pretrained" or "on-device" in p.exposure):
        terms.append(
            (1, "weights obtainable (public model or on-device): white-box or transfer attacks")
        )
    if p.reveals_scores:
        terms.append((1, "scores make query-based black-box attacks efficient"))
    return Outcome(True, reasons, terms, _integrity_impact(p))


@rule("evasion-physical")
def _evasion_physical(p: SystemProfile) -> Outcome:
    if "physical-world" not in p.exposure:
        return Outcome(False, ["inputs do not come from a sensor in the physical world"])
    reasons = [
        f"{p.modality} inputs are sensed in the physical world, "
        "where anyone can place a patch or object"
    ]
    terms = [(3, "physical access to the sensed scene is open to anyone")]
    if p.provenance == "third-party-pretrained":
        terms.append((1, "public weights allow crafting patches offline"))
    impact = _integrity_impact(p)
    if p.biometric != "none":
        terms.append((1, "the attacker is the subject the sensor identifies"))
        impact.append((1, "evading identification defeats the identity decision"))
    return Outcome(True, reasons, terms, impact)


@rule("natural-corruption")
def _natural_corruption(p: SystemProfile) -> Outcome:
    if p.modality == "text":
        return Outcome(False, ["text inputs: no corruption model is defined for them here"])
    terms = [(3, "noise, drift and sensor faults occur in every deployment")]
    if "physical-world" in p.exposure:
        terms.append((1, "sensor input under changing weather, lighting and wear"))
    return Outcome(
        True,
        [f"{p.modality} inputs in operation differ from the training data"],
        terms,
        _integrity_impact(p),
    )


# --- training-time integrity ------------------------------------------------------------------
@rule("data-poisoning")
def _data_poisoning(p: SystemProfile) -> Outcome:
    if _trains_nothing(p):
        return Outcome(
            False, [_PROVIDER_TRAINS + " (poisoned retrieved content: prompt injection)"]
        )
    untrusted = _untrusted_sources(p)
    if not untrusted:
        return Outcome(
            False,
            [
                "training data comes only from in-house sources "
                "(tampering is covered by dataset-tampering)"
            ],
        )
    terms = [(2, "someone outside the organisation contributes training data")]
    if {"user-generated", "web-scraped", "feedback-loop"} & set(untrusted):
        terms.append(
            (1, "anyone can contribute (user-generated, web-scraped or feedback-loop data)")
        )
    if "web-scraped" in untrusted:
        terms.append((1, "whoever controls a scraped domain controls its content at crawl time"))
    if "feedback-loop" in untrusted:
        terms.append((1, "the system retrains on its own use"))
    return Outcome(
        True, ["training data from " + ", ".join(untrusted)], terms, _integrity_impact(p)
    )


@rule("backdoor")
def _backdoor(p: SystemProfile) -> Outcome:
    untrusted = _untrusted_sources(p)
    outside_model = p.provenance in ("third-party-pretrained", "fine-tuned")
    if not untrusted and not outside_model:
        return Outcome(False, ["model trained in-house on in-house data only"])
    reasons, terms = [], [(2, "a backdoor needs control of training data or of the model")]
    if untrusted:
        reasons.append("training data from " + ", ".join(untrusted))
        terms.append((1, "untrusted training data can carry triggers"))
    if outside_model:
        reasons.append(f"model provenance: {p.provenance}")
        terms.append((1, "a third party trained (part of) the model"))
    return Outcome(True, reasons, terms, _integrity_impact(p))


@rule("model-poisoning-supply-chain")
def _model_supply_chain(p: SystemProfile) -> Outcome:
    if not p.self_hosted:
        return Outcome(
            True,
            ["the provider controls the model behind the API and can change it"],
            [(2, "the model can change without a release on the organisation's side")],
            _integrity_impact(p),
        )
    if p.provenance == "trained-in-house":
        return Outcome(False, ["model trained in-house, no pre-trained components declared"])
    terms = [(3, f"model provenance: {p.provenance}")]
    if p.provenance == "third-party-pretrained":
        terms.append((1, "the deployed weights come from a third party"))
    return Outcome(True, [f"model provenance is {p.provenance}"], terms, _integrity_impact(p))


@rule("unsafe-model-serialization")
def _unsafe_serialization(p: SystemProfile) -> Outcome:
    if not p.self_hosted:
        return Outcome(
            False, ["the provider hosts the model: the application loads no model files"]
        )
    risky = [f for f in p.model_formats if f in CODE_EXECUTING_FORMATS]
    unknown = "other" in p.model_formats
    third_party = p.provenance != "trained-in-house"
    if not risky and not unknown and not (third_party and not p.model_formats):
        why = "model formats " + ", ".join(p.model_formats) if p.model_formats else "in-house model"
        return Outcome(False, [f"{why}: no format that executes code on load"])
    reasons = []
    terms = [(2, "loading a model file can execute code it carries")]
    if risky:
        reasons.append("code-executing model formats: " + ", ".join(risky))
        terms.append((1, "pickle-based formats in use"))
    elif unknown:
        reasons.append(
            "a model format of unknown kind (`other`): whether it runs code is unchecked"
        )
        terms.append((-1, "no format known to execute code is declared"))
    else:
        reasons.append("third-party model files of undeclared format")
    if third_party:
        reasons.append(f"model provenance: {p.provenance}")
        terms.append((1, "model files come from outside the organisation"))
    return Outcome(
        True, reasons, terms, _code_execution_impact(p, "the machine that loads the model")
    )


@rule("dataset-tampering")
def _dataset_tampering(p: SystemProfile) -> Outcome:
    if _trains_nothing(p) or (
        p.provenance == "third-party-pretrained"
        and not _untrusted_sources(p)
        and p.data_sources == ["in-house"]
    ):
        terms = [(1, "no training by the organisation; only evaluation data is at stake")]
        return Outcome(
            True, ["evaluation data sets are stored and moved"], terms, _integrity_impact(p)
        )
    terms = [(2, "data sets are stored and copied between systems")]
    if {"third-party", "web-scraped"} & set(p.data_sources):
        terms.append((1, "third-party or downloaded data sets can change after vetting"))
    return Outcome(
        True,
        ["training data is stored and moved: " + ", ".join(p.data_sources)],
        terms,
        _integrity_impact(p),
    )


# --- confidentiality --------------------------------------------------------------------------
@rule("membership-inference")
def _membership(p: SystemProfile) -> Outcome:
    if _trains_nothing(p):
        return Outcome(False, [_PROVIDER_TRAINS])
    terms = [
        (2, "any party with query access can attempt it"),
        *_exposure_terms(p),
        *_output_terms(p),
    ]
    reasons = [f"queries reach a model trained on {p.training_data_sensitivity} data"]
    return Outcome(True, reasons, terms, _privacy_impact(p))


@rule("attribute-inference")
def _attribute(p: SystemProfile) -> Outcome:
    if p.training_data_sensitivity not in ("personal", "special-category"):
        return Outcome(
            False,
            [f"training data is {p.training_data_sensitivity}: no personal attributes to infer"],
        )
    if p.is_llm:
        return Outcome(
            False, ["large models: leakage of personal data is covered by sensitive-data-leakage"]
        )
    if _trains_nothing(p):
        return Outcome(False, [_PROVIDER_TRAINS])
    terms = [
        (2, "needs partial knowledge of a record plus query access"),
        *_exposure_terms(p),
        *_output_terms(p),
    ]
    if p.modality == "tabular":
        terms.append((1, "tabular records with correlated attributes"))
    return Outcome(
        True, [f"training data is {p.training_data_sensitivity}"], terms, _privacy_impact(p)
    )


@rule("model-inversion")
def _inversion(p: SystemProfile) -> Outcome:
    if p.training_data_sensitivity == "public":
        return Outcome(False, ["training data is public: reconstructing it discloses nothing"])
    if _trains_nothing(p):
        return Outcome(False, [_PROVIDER_TRAINS])
    terms = [
        (2, "reconstruction needs many queries or white-box access"),
        *_exposure_terms(p),
        *_output_terms(p),
    ]
    return Outcome(
        True, [f"training data is {p.training_data_sensitivity}"], terms, _privacy_impact(p)
    )


@rule("model-extraction")
def _extraction(p: SystemProfile) -> Outcome:
    if _trains_nothing(p):
        return Outcome(
            False,
            [
                "the model belongs to the provider and is not fine-tuned: nothing of the "
                "organisation's to steal (its prompts: sensitive-data-leakage)"
            ],
        )
    if p.provenance == "third-party-pretrained" and not p.is_llm and not p.model_value:
        return Outcome(
            False, ["the model is a public third-party model: nothing proprietary to steal"]
        )
    terms = [
        (2, "a copy can be trained on the model's answers"),
        *_exposure_terms(p),
        *_output_terms(p),
    ]
    if "generated-text" in p.outputs and p.public:
        terms.append((1, "every public answer is a training example for distillation"))
    value = p.value
    impact = [
        (
            VALUE_IMPACT[value],
            f"model value {value}: loss of intellectual property and a white-box stand-in "
            "for other attacks",
        )
    ]
    return Outcome(
        True,
        ["outsiders can query the model" if p.public else "insiders can query the model"],
        terms,
        impact,
    )


# --- large models -----------------------------------------------------------------------------
@rule("prompt-injection-direct")
def _pi_direct(p: SystemProfile) -> Outcome:
    if not p.is_llm:
        return Outcome(False, [f"{p.technology} model: no natural-language instructions to inject"])
    terms = [(3, "users write the prompt"), *_exposure_terms(p)]
    impact = _integrity_impact(p)
    reasons = ["large model that follows instructions in its input"]
    if p.tools_act:
        reasons.append("tools that act: " + ", ".join(p.tools_act))
        impact.append((1, "the model can act through tools"))
    return Outcome(True, reasons, terms, impact)


@rule("prompt-injection-indirect")
def _pi_indirect(p: SystemProfile) -> Outcome:
    if not p.is_llm:
        return Outcome(False, [f"{p.technology} model: no natural-language instructions to inject"])
    if not p.reads_untrusted:
        why = "the model reads no third-party content"
        if p.tools:
            why += " (its tools return no content that outsiders write)"
        return Outcome(False, [why])
    reasons, terms = [], [(3, "third parties control content the model reads")]
    if p.untrusted_content:
        reasons.append("reads untrusted content at run time")
    if p.tools_read_untrusted:
        reasons.append("tools return third-party content: " + ", ".join(p.tools_read_untrusted))
    if p.tools_act:
        terms.append(
            (1, "injected instructions can reach tools that act: " + ", ".join(p.tools_act))
        )
    if p.public:
        terms.append((1, "a public system: attackers can test their content against it"))
    impact = [*_integrity_impact(p)]
    if p.tools_act:
        impact.append((1, "injected instructions act with the user's privileges"))
    if p.training_data_sensitivity in ("personal", "special-category"):
        impact.append((1, "exfiltration of personal data through tools or outputs"))
    return Outcome(True, reasons, terms, impact)


@rule("jailbreak-misuse")
def _jailbreak(p: SystemProfile) -> Outcome:
    if not p.is_llm or "generated-text" not in p.outputs:
        return Outcome(False, ["the system generates no free text"])
    terms = [(3, "jailbreak prompts are public and transfer between models"), *_exposure_terms(p)]
    impact = [(3, "harmful or policy-violating content"), *_exposure_terms(p)]
    return Outcome(True, ["large model generating free text"], terms, impact)


@rule("sensitive-data-leakage")
def _leakage(p: SystemProfile) -> Outcome:
    if not p.is_llm:
        return Outcome(False, [f"{p.technology} model: no system prompt or context to leak"])
    terms = [(3, "system prompts and context are routinely extracted"), *_exposure_terms(p)]
    impact = _privacy_impact(p)
    if p.tools:
        impact.append((1, "tool credentials and tool results live in the context"))
    if p.tools_act and p.reads_untrusted:
        terms.append((1, "injected instructions can send the context out through tools"))
    return Outcome(True, ["system prompt and context of a large model"], terms, impact)


@rule("denial-of-service")
def _dos(p: SystemProfile) -> Outcome:
    terms = [(2, "any caller can send many or expensive queries"), *_exposure_terms(p)]
    if p.is_llm:
        terms.append((1, "generation cost grows with input and output length"))
    if not p.self_hosted:
        terms.append((0, "each query is billed by the provider (cost harvesting)"))
    return Outcome(True, ["the service answers queries"], terms, _integrity_impact(p))


# --- ML software, artefacts and agents --------------------------------------------------------
SOFTWARE_TERMS = {
    "pre-release-builds": (
        1,
        "pre-release (nightly) builds resolve dependencies from public indexes",
    ),
    "hosted-notebooks": (1, "hosted notebooks run code and extensions from many sources"),
    "container-registry": (1, "images pulled from registries can be replaced"),
    "pinned-and-hashed": (-1, "dependencies are pinned and hash-verified"),
}


@rule("ml-software-supply-chain")
def _ml_software(p: SystemProfile) -> Outcome:
    if not p.self_hosted and not p.software_sources:
        return Outcome(
            False,
            ["the provider runs the ML stack; no ML software sources of the application declared"],
        )
    terms = [(2, "ML frameworks and their dependencies come from public package indexes")]
    terms += [SOFTWARE_TERMS[s] for s in p.software_sources if s in SOFTWARE_TERMS]
    reasons = ["the system is built and served with ML frameworks and packages"]
    if p.software_sources:
        reasons.append("software sources: " + ", ".join(p.software_sources))
    return Outcome(
        True, reasons, terms, _code_execution_impact(p, "hosts where data, models and keys live")
    )


@rule("model-tampering")
def _model_tampering(p: SystemProfile) -> Outcome:
    if not p.self_hosted:
        return Outcome(False, ["the provider hosts the model: no model files to tamper with"])
    terms = [(2, "model files are stored, copied and deployed")]
    reasons = ["the organisation stores and deploys model files"]
    if "on-device" in p.exposure:
        reasons.append("the model ships to devices")
        terms.append(
            (2, "anyone can download the app, unpack the model, change it and repack the app")
        )
    if "container-registry" in p.software_sources:
        terms.append((2, "whoever can push to the registry replaces the model in every deployment"))
    return Outcome(True, reasons, terms, _integrity_impact(p))


@rule("agent-tool-compromise")
def _agent_tools(p: SystemProfile) -> Outcome:
    if not p.tools:
        return Outcome(False, ["the model calls no tools"])
    terms = [(2, "tool descriptions, skills and agent configuration are text the model trusts")]
    third = [t.name for t in p.tools if t.third_party]
    if third:
        terms.append((1, "third-party tools: " + ", ".join(third)))
    if [t for t in p.tools if t.third_party and t.acts]:
        terms.append((1, "a third-party tool that acts carries out its maker's instructions"))
    impact = [(3, "a malicious tool sees and steers the agent's work")]
    if p.tools_act:
        impact.append((1, "tools that act: " + ", ".join(p.tools_act)))
    if p.training_data_sensitivity in ("personal", "special-category"):
        impact.append((1, "personal data passes through tools"))
    return Outcome(True, ["tools: " + ", ".join(p.tool_names)], terms, impact)


@rule("excessive-agency")
def _excessive_agency(p: SystemProfile) -> Outcome:
    if not p.tools_act:
        why = "no tool acts" if p.tools else "the model calls no tools"
        return Outcome(False, [why + ": the model can only answer"])
    terms = [(2, "the agent's actions follow whatever its context says")]
    if p.reads_untrusted:
        terms.append((1, "third-party content can steer the tools that act"))
    if p.public:
        terms.append((1, "outsiders prompt the agent directly"))
    impact = [*_integrity_impact(p), (1, "actions run with the user's privileges")]
    if p.training_data_sensitivity in ("personal", "special-category"):
        impact.append((1, "personal data can be sent out"))
    return Outcome(True, ["tools that act: " + ", ".join(p.tools_act)], terms, impact)


@rule("agent-memory-poisoning")
def _memory(p: SystemProfile) -> Outcome:
    if not p.is_llm:
        return Outcome(False, [f"{p.technology} model: no conversational memory"])
    if not (p.reads_untrusted or p.tools or p.task == "agent"):
        return Outcome(
            False, ["no memory, retrieval store or tools that keep context between turns"]
        )
    terms = [(2, "what the assistant stores it reads again later")]
    reasons = ["an assistant that keeps context (memory, history, retrieval or tools)"]
    if p.reads_untrusted:
        terms.append((1, "untrusted content is stored where the assistant reads it again"))
    return Outcome(True, reasons, terms, _integrity_impact(p))


@rule("biometric-spoofing")
def _biometric(p: SystemProfile) -> Outcome:
    if p.biometric == "none":
        return Outcome(False, ["the system checks no biometric identity"])
    terms = [(3, "deepfake and face-swap tools are cheap and public")]
    if p.biometric == "user-device":
        terms.append((1, "the user's own device captures the sample: frames can be replaced"))
    impact = [*_integrity_impact(p), (1, "identity fraud opens accounts and payments")]
    return Outcome(True, [f"biometric identity check ({p.biometric} capture)"], terms, impact)


@rule("hallucination-exploitation")
def _hallucination(p: SystemProfile) -> Outcome:
    if not p.is_llm or not {"generated-text", "generated-code"} & set(p.outputs):
        return Outcome(False, ["the system generates no free text"])
    terms = [(2, "models repeat the same invented names, which attackers can register")]
    if p.public:
        terms.append((1, "many users act on the answers"))
    code = "generated-code" in p.outputs
    if code:
        terms.append((1, "users run the code and install the packages it names"))
    impact = [
        (4, "users install or run what the attacker published")
        if code
        else (3, "users visit or trust what the attacker published")
    ]
    if p.tools_act:
        impact.append((1, "the agent may install or fetch what it names itself"))
    return Outcome(True, ["a large model generating free text"], terms, impact)
