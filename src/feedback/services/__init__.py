"""Services: the use cases. They take a database session as an argument and raise feedback.errors."""
