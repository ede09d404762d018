"""Dashboards as files: definitions in TOML, their data through the other services, scoped and cached.

spec.py     the file format, checked with an error per file and field
library.py  which dashboards exist: shipped ones (feedback.dashboards.specs) and FEEDBACK_DASHBOARDS_DIR
filters.py  the filters a page carries in its URL (dates, department, channel, product)
panels.py   each panel's data (metrics, root causes, verbatims, mentions); read_dashboard: scoped and
            redacted for the caller
access.py   who may open which dashboard, and what they see in it
cache.py    results kept for a short TTL and dropped when the data changes
tables.py   a panel's data as CSV or Parquet
headline.py the tiles a page opens with
pages.py, views.py, cli.py   the dashboard pages, what they draw, and the commands
"""
