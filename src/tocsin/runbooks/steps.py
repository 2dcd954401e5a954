"""A runbook's steps, pure: the items of its Markdown's top-level ordered lists, numbered 1..N in
document order (a second list after a heading carries on the count), and the approved actions a
step names with a marker such as `[action: restart-web]`.

Rendering is here too: Markdown without raw HTML (escaped, never passed through), links only to
http, https and mailto addresses, opened with rel="noopener noreferrer", headings one level down (the
page around a runbook has its own <h1>).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

ACTION = re.compile(r"\[action:\s*([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)\s*\]")
_SAFE_LINK = ("http://", "https://", "mailto:")


@dataclass(frozen=True, slots=True)
class Step:
    number: int  # 1-based, in document order
    text: str  # the item's first paragraph (Markdown source), action markers taken out
    detail: str  # the rest of the item (Markdown source, dedented), "" when none
    actions: tuple[str, ...]  # approved actions named by `[action: slug]` markers, in order


class _SafeLinks(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        return url.strip().lower().startswith(_SAFE_LINK)


@cache
def _md() -> MarkdownIt:
    md = _SafeLinks("commonmark", {"html": False, "linkify": False, "typographer": False})

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "noopener noreferrer")
        return str(renderer.renderToken(tokens, idx, options, env))

    def heading(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        # a runbook is shown under its page's own <h1>: its headings go one level down
        tokens[idx].tag = f"h{min(int(tokens[idx].tag[1]) + 1, 6)}"
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("heading_open", heading)
    md.add_render_rule("heading_close", heading)
    return md


def render(body_md: str) -> Markup:
    """A runbook's Markdown as safe HTML."""
    return Markup(_md().render(body_md))


def render_inline(text: str) -> Markup:
    """A step's text as safe inline HTML (no paragraph around it)."""
    return Markup(_md().renderInline(text))


def _dedent(lines: list[str]) -> str:
    indents = [len(x) - len(x.lstrip(" ")) for x in lines if x.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(x[cut:] for x in lines).strip("\n")


def steps(body_md: str) -> list[Step]:
    """The runbook's numbered steps."""
    tokens = _md().parse(body_md)
    lines = body_md.splitlines()
    out: list[Step] = []
    depth = 0  # nesting of lists: only items of an ordered list at the top level are steps
    top_ordered = False
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.type in ("bullet_list_open", "ordered_list_open"):
            if depth == 0:
                top_ordered = t.type == "ordered_list_open"
            depth += 1
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif t.type == "list_item_open" and depth == 1 and top_ordered and t.map:
            start, end = t.map
            first = ""
            first_end = start + 1
            j = i + 1
            while j < len(tokens) and tokens[j].type != "list_item_close":
                inline = tokens[j]
                if inline.type == "inline":
                    first = inline.content
                    first_end = inline.map[1] if inline.map else first_end
                    break
                if tokens[j].type not in ("paragraph_open",):
                    break
                j += 1
            actions = tuple(ACTION.findall(first))
            text = re.sub(r"\s{2,}", " ", ACTION.sub("", first)).strip()
            out.append(Step(len(out) + 1, text, _dedent(lines[first_end:end]), actions))
        i += 1
    return out
