"""Evaluation: contestants answer held-out prompts, verifiers score them, METRICS summarise them."""
