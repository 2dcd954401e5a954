"""Service level objectives: error budgets, burn rates and multi-window burn-rate alerts."""
