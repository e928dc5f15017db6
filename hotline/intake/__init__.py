"""The intake pipeline: one port every channel calls."""
