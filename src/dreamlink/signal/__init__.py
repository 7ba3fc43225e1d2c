"""Causal signal processing: ring buffer, filters that keep state between chunks."""
