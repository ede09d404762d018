"""Server-rendered pages for people: survey forms that work without JavaScript."""
