"""Evaluation: metrics, comparison tables."""
