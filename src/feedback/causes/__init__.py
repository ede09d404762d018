"""Root causes in the database: the taxonomy, `feedback analyze`, the ledger, admin decisions and reads.

taxonomy.py   load a taxonomy file or API body into causes rows
items.py      read feedback (response answers, mentions) into Polars frames
analyze.py    one analysis run: assign, discover, match, ledger; all written in one transaction
ledger.py     the recurrence ledger rows
decisions.py  accept, merge or dismiss a candidate; edit and retire causes
query.py      what the API shows: causes with their ledger, verbatims and history
events.py     cause history rows
evidence.py   a cause's comments and mentions, paged
followup.py   the follow-up a head marks from the dashboard
jobs.py       its periodic job: the analysis on a schedule
api.py, pages.py, cli.py   its JSON routes, cause pages and commands
"""
