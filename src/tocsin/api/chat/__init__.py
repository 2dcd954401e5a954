"""What chat users do, arriving at the API edge: Slack and Mattermost payloads turned into the same
flows, checks and audit as the API (slash commands, captured messages, page buttons)."""
