"""The responder console: server-rendered pages, sessions, and the live incident room."""
