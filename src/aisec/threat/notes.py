"""Notes on a profile: where a field it leaves out would sharpen its threat model.

Profiles written before a field existed still load; these notes say which facts aisec had to
assume and what to declare instead.
"""

from __future__ import annotations

from aisec.threat.profile import SystemProfile


def profile_notes(profile: SystemProfile, applicable: set[str]) -> list[str]:
    """One sentence per assumption aisec made for the profile, naming the field to set."""
    notes = []
    vague = [t.name for t in profile.tools if not t.described]
    if vague:
        notes.append(
            "tools given by name only (" + ", ".join(vague) + ") are assumed to read untrusted "
            "content and to act; describe each as {name, reads_untrusted, acts, third_party} "
            "to tell indirect injection and excessive agency apart"
        )
    if "other" in profile.model_formats:
        notes.append(
            "model format `other` is not known to aisec: name it (e.g. tflite, coreml, onnx) "
            "to judge whether loading it can run code"
        )
    if "ml-software-supply-chain" in applicable and not profile.software_sources:
        notes.append(
            "`software_sources` is not declared: ML software risk assumes public package "
            "indexes; declare pre-release builds, registries, notebooks or pinned hashes"
        )
    if "model-extraction" in applicable and profile.model_value is None:
        notes.append(
            f"`model_value` is not declared: theft impact assumes {profile.value}; "
            "set low, medium, high or very-high"
        )
    if (
        profile.is_llm
        and profile.self_hosted
        and profile.provenance == "third-party-pretrained"
        and not profile.model_formats
    ):
        notes.append(
            "a third-party large model with no model files declared: if the application calls a "
            "provider's API instead of loading the model, set `model_hosting: provider-api`"
        )
    return notes
