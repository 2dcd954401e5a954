"""Configuration as code: the YAML document (docs/config-as-code.md), apply, export and lint."""
