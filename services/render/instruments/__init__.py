"""Instruments stage: a role's voice → a multi-sampled SFZ/SF2 instrument; drums as a kit."""
