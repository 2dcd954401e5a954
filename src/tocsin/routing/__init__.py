"""Routing rules, silences, maintenance windows and auto-incident rules: what happens to an alert."""
