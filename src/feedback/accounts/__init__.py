"""Who may do what: users, logins and their lockout, API tokens, the Caller every read is scoped by."""
