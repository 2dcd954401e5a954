"""The services catalog: what can break, who owns it, what it depends on."""
