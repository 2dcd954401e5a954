"""Indicators of compromise and affected assets, with TLP marking; STIX 2.1 and MISP export (issue 17)."""
