"""Customer outcomes: what customers did after they answered (events), and which ids are one person."""
