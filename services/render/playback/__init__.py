"""Render stage: MIDI played with the job's instruments, mixed and mastered."""
