"""Invitations: who is asked, by which link, and the import that creates them."""
