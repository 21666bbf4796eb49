"""The real SmolLM2-135M-Instruct, loaded once per test session for the prompt tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def smollm2():
    """The built-in chat model (greedy, 32 new tokens), converted and cached on first use."""
    from aisec.targets.builtin.llm import load_smollm2

    return load_smollm2(max_new_tokens=32)
