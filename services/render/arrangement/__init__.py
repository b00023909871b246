"""Arrangement stage: the composer that writes a song's MIDI from the picture's scene."""
