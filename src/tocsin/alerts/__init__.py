"""Alerts: the stored alert, its groups, events and decisions; reading them and changing their status."""
