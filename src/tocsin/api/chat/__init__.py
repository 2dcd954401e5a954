"""Chat-ops at the HTTP edge: the slash-command executor shared by Slack and Mattermost, Slack's
declare form, and the handlers of Slack's interactions and events."""
