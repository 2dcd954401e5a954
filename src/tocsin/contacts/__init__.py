"""Per-user contact methods (email, SMS, voice, webhook, Slack, Apprise) and personal notification rules."""
