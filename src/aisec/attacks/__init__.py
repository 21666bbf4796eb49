"""Attacks, one subpackage per family: evasion, poisoning, inference, extraction, prompt."""
