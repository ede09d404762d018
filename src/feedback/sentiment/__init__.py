"""Sentiment: scoring texts and fitting the company's own model."""
