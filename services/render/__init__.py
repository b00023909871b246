"""render: timbre audio → playable instruments; MIDI arrangement → mixed song."""
