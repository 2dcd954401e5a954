"""Incidents: lifecycle, severity, roles, participants, timeline, need-to-know access."""
