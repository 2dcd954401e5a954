"""Email to alert: an inbound SMTP listener turning mail to per-integration addresses into alerts."""
