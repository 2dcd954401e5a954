"""Users, organisation roles, passwords and API tokens."""
