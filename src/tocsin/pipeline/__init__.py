"""The alert pipeline: from a normalized event to a stored, routed, grouped, explained and maybe paged alert."""
