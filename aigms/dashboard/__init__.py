"""The studio dashboard: a FastAPI app over the project database and asset store."""
