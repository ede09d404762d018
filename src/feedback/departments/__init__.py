"""Departments: who owns which problems, their heads and where their digests go."""
