"""The `tocsin` command: operator commands on the database, and an API client."""
