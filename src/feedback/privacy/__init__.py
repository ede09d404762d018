"""Privacy: erase one customer on request, drop old free text, and redact what readers may not see.

identifiers.py  the kinds of identifier a customer is erased by, and their keyed hash
quotes.py       copies of customers' words held elsewhere (cause verbatims, digests, alerts) and removing them
erase.py        erase one customer in one transaction, and record that it was done
retention.py    drop free text older than FEEDBACK_RETENTION_TEXT_DAYS, in committed batches
exposure.py     who may see personal data, and the redacted view for everyone else
"""
