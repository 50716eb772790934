"""Datasets: checks, importers, statistics."""
