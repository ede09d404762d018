"""Metrics: NPS, CSAT, CES and the rest over any filter, read from the daily rollups."""
