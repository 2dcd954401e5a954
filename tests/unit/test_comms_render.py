"""Communication templates: filled in the sandbox from plain values, with clear errors; cadence parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.comms.render import RenderError, render, sample
from tocsin.comms.templates import DEFAULTS, TemplateInput, check
from tocsin.errors import InvalidInput
from tocsin.incidents.cadence import DEFAULT, Step, next_update_due, parse, target_label


def test_a_template_is_filled_from_the_incidents_values() -> None:
    out = render("{{ ref }} ({{ severity }}): {{ title }}",
                 "Services: {{ services | join(', ') }}. Next update by {{ next_update_label }}.", sample())
    assert out.subject == "INC-42 (SEV2): Checkout payments failing"
    assert out.body == "Services: checkout, payments. Next update by Fri 06 Mar 10:30 UTC."


@pytest.mark.parametrize("text", [
    "{{ ''.__class__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ title.__class__.__base__ }}",
    "{{ services.append('x') }}", "{{ 'x' * 10**9 }}", "{{ cycler.__init__.__globals__ }}",
])
def test_the_sandbox_refuses_python_internals_and_huge_results(text: str) -> None:
    with pytest.raises(RenderError):
        render("s", text, sample())


def test_a_misspelt_name_or_bad_syntax_is_a_clear_error() -> None:
    with pytest.raises(RenderError, match="'titel' is undefined"):
        render("s", "{{ titel }}", sample())
    with pytest.raises(RenderError, match="line 1"):
        render("s", "{% if %}", sample())


def test_saving_a_template_that_does_not_render_names_the_field() -> None:
    bad = TemplateInput(slug="x", name="X", channel="internal", severities=[], kind="any", subject="{{ ref }}",
                        body="{{ ''.__class__ }}")
    with pytest.raises(InvalidInput, match="the body does not render") as exc:
        check(bad)
    assert exc.value.details == {"field": "body"}
    with pytest.raises(InvalidInput, match="channel"):
        check(TemplateInput(**{**bad.__dict__, "body": "ok", "channel": "fax"}))
    ok = check(TemplateInput(**{**bad.__dict__, "body": "ok", "severities": ["p0", "SEV2"]}))
    assert ok.severities == ["SEV1", "SEV2"]


def test_the_default_templates_render_on_the_sample() -> None:
    for d in DEFAULTS:
        check(TemplateInput(severities=[], **{k: str(v) for k, v in d.items()}))  # type: ignore[arg-type]


def test_cadence_is_parsed_from_the_setting() -> None:
    assert DEFAULT == {"SEV1": Step(30, "m"), "SEV2": Step(60, "m"), "SEV3": Step(4, "h"), "SEV4": Step(1, "d")}
    assert parse(" sev1=15M, SEV4=2bd ") == {"SEV1": Step(15, "m"), "SEV4": Step(2, "bd")}
    for bad in ("SEV1=0m", "SEV5=1h", "SEV1=1w", "SEV1", "SEV1=1h,SEV1=2h"):
        with pytest.raises(ValueError):
            parse(bad)
    assert [target_label(s) for s in ("SEV1", "SEV2", "SEV3", "SEV4")] == \
        ["every 30 min", "every 1 h", "every 4 h", "every day"]


def test_next_update_due_by_the_cadence_given() -> None:
    friday = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    assert next_update_due("SEV1", friday) == datetime(2026, 3, 6, 10, 30, tzinfo=UTC)
    assert next_update_due("SEV4", friday, parse("SEV4=1bd")) == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert next_update_due("SEV3", friday, parse("SEV1=5m")) == datetime(2026, 3, 7, 10, 0, tzinfo=UTC)  # unnamed: daily


def test_the_setting_refuses_a_bad_cadence() -> None:
    from pydantic import ValidationError

    from tocsin.config import Settings

    assert Settings(update_cadence="SEV1=10m, SEV2=1h").update_cadence == "SEV1=10m,SEV2=1h"
    with pytest.raises(ValidationError, match="SEV1=30m"):
        Settings(update_cadence="SEV1=soon")
