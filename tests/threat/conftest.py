"""Helpers for threat-modelling tests: profiles built from a base by overriding facts."""

from __future__ import annotations

from typing import Any

import pytest

from aisec.threat import SystemProfile, parse_profile

BASE: dict[str, Any] = {
    "name": "offline-classifier",
    "description": "An image classifier used offline inside the organisation.",
    "technology": "deep-learning",
    "task": "classification",
    "modality": "image",
    "data_sources": ["in-house"],
    "provenance": "trained-in-house",
    "exposure": ["internal"],
    "outputs": ["label"],
    "training_data_sensitivity": "public",
    "criticality": "medium",
    "model_formats": ["safetensors"],
}

LLM_AGENT: dict[str, Any] = {
    **BASE,
    "name": "agent",
    "technology": "large-model",
    "task": "agent",
    "modality": "text",
    "exposure": ["public-api"],
    "outputs": ["generated-text"],
    "tools": ["email", "web-browsing"],
    "model_formats": ["gguf"],
}


def make(base: dict[str, Any] = BASE, **facts: Any) -> SystemProfile:
    """A validated profile: ``base`` with ``facts`` replaced."""
    return parse_profile({**base, **facts})


@pytest.fixture()
def offline() -> SystemProfile:
    """An offline in-house image classifier."""
    return make()


@pytest.fixture()
def make_profile():
    """Factory fixture: ``make_profile(base=BASE, **facts)``."""
    return make


@pytest.fixture()
def llm_facts() -> dict[str, Any]:
    """Facts of a public LLM agent with tools."""
    return dict(LLM_AGENT)


@pytest.fixture()
def base_facts() -> dict[str, Any]:
    """Facts of the offline in-house image classifier."""
    return dict(BASE)
