"""The background engine: small idempotent modules run in a fixed order every tick."""
