"""Tests for the benchmarks package."""
