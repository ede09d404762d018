"""Analysis: pure functions over text and tables. Never imports the web layer or the database."""
