"""Surveys: their specs, the pages customers answer, the API and the commands that manage them."""
