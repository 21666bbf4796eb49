"""The built-in demo assessment: the whole chain on built-in targets, in a few minutes.

Profile → threats → plan → evasion (white-box, ensemble, black-box, curve), physical-world
patch, natural corruptions, supply-chain scan of model files, a poisoning-rate curve of a
backdoor with data-set defences and fine-pruning, a data-set check, backdoor scans of a
backdoored and a clean model, membership inference (LiRA) and the output-mode trade-off,
attribute inference on tabular records, model extraction watched by PRADA, DP-SGD training
→ risk register → reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aisec.assessment.config import AssessmentConfig, parse_config
from aisec.registry import available_tests


def write_demo_files(folder: Path) -> list[str]:
    """Model files for the demo's supply-chain scan: a clean safetensors export of digits-cnn and
    a vendor pickle whose reduce call imports ``os.getcwd`` (inert, but exactly the pattern of
    code-executing model files). Neither file is ever loaded."""
    from safetensors.torch import save_file

    from aisec.targets.builtin import load_builtin_target

    folder.mkdir(parents=True, exist_ok=True)
    model = load_builtin_target("digits-cnn").model  # type: ignore[attr-defined]
    clean = folder / "digits-cnn.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(clean))
    vendor = folder / "vendor-digits-model.pkl"
    vendor.write_bytes(b"\x80\x02cos\ngetcwd\n)R.")
    return [str(clean), str(vendor)]


def demo_config_dict(*, quick: bool = False, files_dir: Path | None = None) -> dict[str, Any]:
    """The demo's config as a plain mapping (tests not installed are left out)."""
    n = 100 if quick else 200
    have = available_tests()
    files = write_demo_files(files_dir) if files_dir is not None else []
    targets: list[dict[str, Any]] = [
        {
            "name": "digits-cnn",
            "builtin": "digits-cnn",
            "data": "builtin:digits:test",
            "limit": n,
            "files": files,
        },
        {
            "name": "digits-logreg",
            "builtin": "digits-logreg",
            "data": "builtin:digits:test",
            "limit": n,
        },
    ]
    from aisec.targets.builtin import available_targets

    if "digits-cnn-backdoor" in available_targets():
        targets.append(
            {
                "name": "digits-cnn-backdoor",
                "builtin": "digits-cnn-backdoor",
                "data": "builtin:digits:test",
                "limit": n,
            }
        )
    privacy = "digits-mlp" in available_targets()
    if privacy:
        # the privacy family's targets: MLPs fitted to their training sets (all their test data)
        targets += [
            {"name": "digits-mlp", "builtin": "digits-mlp", "data": "builtin:digits:test"},
            {"name": "cancer-mlp", "builtin": "cancer-mlp", "data": "builtin:cancer:test"},
        ]
    signs = "signs-cnn" in available_targets()
    if signs:
        targets.append(
            {"name": "signs-cnn", "builtin": "signs-cnn", "data": "builtin:signs:test", "limit": n}
        )
    tests: list[dict[str, Any]] = [
        {"id": "evasion.fgsm", "params": {"eps": 0.1}, "targets": ["digits-cnn"]},
        {
            "id": "evasion.pgd",
            "params": {
                "eps": 0.1,
                "steps": 40,
                "restarts": 2,
                "curve": [0.02, 0.05, 0.1, 0.2, 0.3],
            },
            "targets": ["digits-cnn"],
        },
    ]
    optional: list[dict[str, Any]] = [
        {
            # --quick: the fast preset, whose departures from the standard version the
            # outcome lists (preset_departures) and the report shows
            "id": "evasion.ensemble",
            "params": {"eps": 0.1, "preset": "fast" if quick else "standard"},
            "targets": ["digits-cnn"],
        },
        {"id": "evasion.deepfool", "params": {"norm": "l2", "eps": 1.0}, "targets": ["digits-cnn"]},
        {
            "id": "evasion.square",
            "params": {"eps": 0.1, "queries": 1000},
            "targets": ["digits-logreg"],
        },
        {
            "id": "evasion.hsj",
            "params": {"eps": 1.0, "norm": "l2", "queries": 1000},
            "targets": ["digits-logreg"],
        },
    ]
    if signs:
        optional += [
            {
                "id": "evasion.patch",
                "params": {"steps": 100, "eval_repeats": 1} if quick else {},
                "targets": ["signs-cnn"],
            },
            {"id": "evasion.corruptions", "params": {}, "targets": ["signs-cnn", "digits-logreg"]},
        ]
    if files:
        optional.append({"id": "supplychain.scan", "targets": ["digits-cnn"]})
    optional += [
        {
            # the poisoning-rate curve of digits-cnn's own training pipeline, with the poisons
            # looked for in the data, the model fine-pruned and scanned at the largest rate
            "id": "poisoning.backdoor",
            "params": {
                "rates": [0.05] if quick else [0.01, 0.05],
                "detect": ["activation-clustering", "spectral-signatures"],
                "mitigate": ["fine-pruning"],
                "scan": True,
            },
            "targets": ["digits-cnn"],
        },
        {"id": "supplychain.data-check", "targets": ["digits-cnn"]},
        {
            # digits-cnn hardened (PGD-AT), noise-trained and certified, and behind a
            # bit-depth filter that only masks gradients, beside the undefended model
            "id": "defence.evasion",
            "params": {
                "defences": ["pgd-at", "noise", "bit-depth"],
                "limit": 60 if quick else 100,
                "certify_limit": 50,
            },
            "targets": ["digits-cnn"],
        },
        # a backdoor scan of a model with a planted backdoor and of the clean model
        {"id": "forensics.backdoor-scan", "targets": ["digits-cnn-backdoor", "digits-cnn"]},
    ]
    if privacy:
        refs = 4 if quick else 8
        optional += [
            {
                "id": "inference.membership",
                "params": {"attack": "lira", "references": refs},
                "targets": ["digits-mlp"],
            },
            {
                # the same reference models answer in every mode (one sweep for both units)
                "id": "inference.output-modes",
                "params": {"references": refs, "budget": 300},
                "targets": ["digits-mlp"],
            },
            {"id": "inference.attribute", "targets": ["cancer-mlp"]},
            {
                "id": "extraction.knockoff",
                "params": {"budget": 300 if quick else 500, "strategy": "adaptive"},
                "targets": ["digits-cnn"],
            },
            {
                # RMIA needs few reference models: two DP-trained ones calibrate the attack
                "id": "defence.dp-sgd",
                "params": {"references": 2, "epochs": 15, "lr": 0.02},
                "targets": ["digits-mlp"],
            },
        ]
    from aisec.targets.builtin.llm import llm_available

    if llm_available():
        # the LLM application: SmolLM2-135M-Instruct as a bank's support bot with a canary
        # secret, a help-centre corpus and tools; replies are journalled beside the store
        targets.append({"name": "support-bot", "chat": "builtin:support-bot", "max_new_tokens": 24})
        bot = ["support-bot"]
        optional += [
            {
                "id": "prompt.leakage",
                "params": {"utility": False},
                "targets": bot,
            },
            {
                "id": "prompt.indirect-injection",
                # six document templates, undefended and spotlighted, and the benign cost
                "params": {"defences": ["none", "spotlight"], "limit": 6},
                "targets": bot,
            },
            {
                "id": "prompt.injection",
                "params": {"utility": False},
                "targets": bot,
            },
            {"id": "prompt.jailbreak", "params": {"utility": False}, "targets": bot},
        ]
    tests += [t for t in optional if t["id"] in have]
    config: dict[str, Any] = {
        "version": 1,
        "name": "aisec-demo",
        "seed": 0,
        "targets": targets,
        "tests": tests,
    }
    if _profile_available("builtin:demo"):
        config["profile"] = "builtin:demo"
    return config


def _profile_available(ref: str) -> bool:
    try:
        from aisec.threat import load_profile

        load_profile(ref)
    except Exception:  # threat modelling not installed or profile missing: demo runs without it
        return False
    return True


def demo_config(*, quick: bool = False, files_dir: Path | None = None) -> AssessmentConfig:
    """The validated demo config; model files for the scan are written to ``files_dir``."""
    return parse_config(demo_config_dict(quick=quick, files_dir=files_dir), "demo config")
