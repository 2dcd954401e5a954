"""Chat-ops (issue 18): incidents run where teams talk. Slack and Mattermost channels per incident,
the timeline posted to them, chat messages captured onto the timeline, chat accounts linked to
tocsin users; Microsoft Teams cards through a Workflows webhook.

Everything tocsin says to a chat platform goes through the `chat_outbox` (chatops/outbox.py), sent by
the engine's `chat_deliver` job, so a chat platform's outage or rate limit never blocks an incident
or a page. What chat users do arrives at the API edge (`api/routes/slack.py`, `mattermost.py`) and
runs through the same flows, checks and audit as the API (`api/chat/`)."""
