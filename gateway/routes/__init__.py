"""HTTP routes of the gateway (HTTP only: the work lives in jobs.py, queue.py, pipeline.py)."""
