"""Public status pages: components, customer-facing incidents and maintenances, subscribers."""
