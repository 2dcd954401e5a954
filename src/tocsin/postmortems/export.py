"""Export a postmortem as Markdown or as PDF-ready HTML (print it to PDF from a browser).

User text is Markdown rendered by markdown-it-py with raw HTML disabled and into a Jinja2
template with autoescaping, so nothing a user writes can inject markup or script; link
targets such as `javascript:` are refused by markdown-it's link validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from tocsin.postmortems.draft import ActionLine, action_table, when


@dataclass(frozen=True)
class ExportDoc:
    title: str
    incident_ref: str
    incident_title: str
    status: str
    revision: int
    published_at: datetime | None
    text: str  # the Markdown to export: the internal body or the public text
    public: bool
    action_items: tuple[ActionLine, ...] = ()  # the incident's items now (internal exports only)


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """A postmortem's Markdown as HTML; raw HTML in it is escaped, not passed through."""
    return Markup(_markdown().render(text))


@cache
def _env() -> Environment:
    return Environment(loader=PackageLoader("tocsin.postmortems", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True))


def public_heading(text: str, incident_at: datetime) -> tuple[str, str]:
    """Return (title, text) for the public version. The internal title (by default "Postmortem:
    <internal incident title>") is never used: the title is the public text's own leading `# `
    heading, taken out of the text so it is not shown twice, or else a neutral "Incident report:
    <date> (UTC)"."""
    tokens = _markdown().parse(text)
    if len(tokens) >= 2 and tokens[0].type == "heading_open" and tokens[0].tag == "h1" and tokens[0].map:
        # plain text of the heading (emphasis and code marks dropped): it also becomes the HTML <title>
        title = "".join(t.content if t.type in ("text", "code_inline") else " " if t.type == "softbreak" else ""
                        for t in tokens[1].children or []).strip()
        if title:
            rest = text.splitlines()[tokens[0].map[1]:]
            return title, "\n".join(rest)
    return f"Incident report: {incident_at.astimezone(UTC):%Y-%m-%d} (UTC)", text


def _byline(doc: ExportDoc) -> str:
    if doc.public:
        return f"Published {when(doc.published_at)}" if doc.published_at else "Not yet published"
    state = f"published {when(doc.published_at)}" if doc.published_at else doc.status.replace("_", " ")
    return f"{doc.incident_ref} · {state} · revision {doc.revision}"


ACTION_STATUS_HEADING = "## Action item status"


def _full_text(doc: ExportDoc) -> str:
    """The text, and for an internal export the incident's action items as they stand now (the
    draft's list is a snapshot taken when the postmortem was started; owners, due dates and
    statuses move on). A public export never lists them: their titles are internal."""
    text = doc.text.strip()
    if doc.public or not doc.action_items:
        return text
    return "\n".join([text, "", ACTION_STATUS_HEADING, "", *action_table(list(doc.action_items))])


def to_markdown(doc: ExportDoc) -> str:
    """The document as Markdown: title, a one-line byline, then the text (and action item status)."""
    return f"# {doc.title}\n\n_{_byline(doc)}_\n\n{_full_text(doc)}\n"


def to_html(doc: ExportDoc) -> str:
    """A standalone HTML page with print styles, ready to be printed to PDF."""
    body = render_markdown(_full_text(doc))
    return _env().get_template("postmortem.html").render(doc=doc, byline=_byline(doc), body=body)
