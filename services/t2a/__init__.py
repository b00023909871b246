"""t2a: sound source → realistic, non-musical sound effect."""
