"""Markdown to safe HTML: CommonMark rendering, then an allow-list sanitiser."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img",
    "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "code": {"class"}}


def render_markdown(source: str | None) -> str:
    """Render publisher Markdown to HTML that is safe to embed in the store's pages.

    The renderer escapes raw HTML in the source. nh3 then applies the allow-list of
    tags, attributes and URL schemes, so the output stays safe if the renderer changes.
    """
    if not source:
        return ""
    html = _renderer.render(source)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
