"""Social listening: public mentions of the company, stored once each whatever way they came in.

prepare.py   raw fields -> a checked, normalized, scored row (pure; runs in import worker processes)
store.py     the insert-once path every way in shares, and the copypasta flag
rules.py     the keyword/brand rules file and the other ingest settings
importer.py  CSV / JSON Lines files with a column mapping, streamed, in parallel, resumable
webhook.py   signed batches pushed by other systems
pollers/     RSS/Atom feeds and Mastodon timelines, polled from where they stopped
query.py     reading mentions back, filtered and scoped
jobs.py      its periodic job: polling
api.py, cli.py   its JSON routes and commands
"""
