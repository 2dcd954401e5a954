"""Regulatory clocks: notification regimes as data, deadlines computed from a security incident's clocks, reminders and filings (issue 17)."""
