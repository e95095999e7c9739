"""Benchmarks and the synthetic scene generator: one script per question."""
