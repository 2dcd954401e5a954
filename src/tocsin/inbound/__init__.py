"""Inbound alert formats: one pure parser per sender (bytes in, normalized events out; no I/O)."""
