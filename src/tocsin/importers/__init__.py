"""Importers from Opsgenie, Grafana OnCall and PagerDuty: each builds a configcode document and applies it."""
