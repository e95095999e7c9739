"""Tests for the synthetic scene generator."""
