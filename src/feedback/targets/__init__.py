"""Targets an admin sets for a metric."""
