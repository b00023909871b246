"""The four stage services; each is its own FastAPI app with engines behind it."""
