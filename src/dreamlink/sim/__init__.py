"""The physiologically plausible night simulator (the embedded default for demos and tests)."""
