"""The JSON Schema of the configuration document, shipped as `schema.json` next to this module
(`tocsin config schema` prints it; a test keeps it equal to the pydantic models it comes from).
Regenerate with `python -m tocsin.configcode.schema`."""

from __future__ import annotations

import json
from pathlib import Path

from tocsin.configcode.document import json_schema

SCHEMA_PATH = Path(__file__).with_name("schema.json")


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(render(), encoding="utf-8")
