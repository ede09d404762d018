"""Responses: checking a submission, the group-commit writer that stores it, and reading them back."""
