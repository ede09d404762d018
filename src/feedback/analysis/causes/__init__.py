"""Root causes, as pure functions over texts: assign to a known taxonomy, discover repeated new causes,
label them (class-based TF-IDF), and keep their identity from one run to the next.

No database and no web here; causes/ stores what these functions compute. Which feedback is
negative (and so analysed) is the survey vocabulary's rule: analysis/scales.py.

    taxonomy.py    the TOML file format of known causes
    features.py    text normalisation, tokens, canonical (order-free) input
    engines.py     text -> vectors: "default" (scikit-learn TF-IDF) or "embeddings" (all-MiniLM-L6-v2)
    assign.py      negative items -> known causes, with a confidence
    discover.py    the rest -> repeated clusters (candidate causes)
    label.py       c-TF-IDF terms, readable labels, representative verbatims
    match.py       this run's clusters -> the causes already known (Hungarian matching), and what changed
    recurrence.py  the ledger: count, share, points lost, trend per cause and period
    pipeline.py    all of it over one table of feedback items
"""
