"""Alerts: the pipeline from an inbound event to a stored, explained, maybe paged alert."""
