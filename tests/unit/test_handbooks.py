"""Role handbooks: a shipped one for every incident role, practical (first five minutes, handover),
and rendered safely (raw HTML and script links in an admin's edit stay inert)."""

import pytest

from tocsin.errors import NotFound
from tocsin.handbooks import service as handbooks
from tocsin.incidents.types import Role


@pytest.mark.parametrize("role", list(Role))
def test_every_role_ships_a_practical_handbook(role):
    text = handbooks.default(role)
    assert text.startswith("# ")
    for heading in ("## You do", "## You do not", "## First 5 minutes", "## Handover"):
        assert heading in text, (role, heading)
    assert len(text) < 2000  # short enough to read during an incident


def test_the_commander_coordinates_and_does_not_fix():
    assert "**coordinate; you do not fix.**" in handbooks.default(Role.incident_commander)
    html = handbooks.render(handbooks.default(Role.incident_commander))
    assert "<strong>coordinate; you do not fix.</strong>" in html and "<h2>First 5 minutes</h2>" in html


def test_markdown_is_rendered_without_raw_html_or_script_links():
    html = handbooks.render('# Hi\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n'
                            '[click](javascript:alert(1)) [ok](https://runbooks.example/ic)')
    assert "<script>" not in html and "<img" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;" in html and 'href="https://runbooks.example/ic"' in html


def test_an_unknown_role_is_not_found():
    with pytest.raises(NotFound):
        handbooks.role_of("janitor")
