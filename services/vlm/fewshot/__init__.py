"""Few-shot examples for the describe prompt (package data: the seed's scene documents and
their pictures described in words)."""
