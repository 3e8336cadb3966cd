"""Dataset cards as safe HTML: Markdown rendered by markdown-it-py, then sanitised by nh3.

Cards are written by anyone who opens a pull request, so their HTML is never trusted: after
rendering, nh3 (ammonia) keeps only an allow-list of tags and attributes and only http(s),
mailto and relative URLs. Scripts, styles, event handlers, ``javascript:``/``data:`` URLs,
forms and frames never survive. Headings are shifted one level down (the page owns ``<h1>``).
"""

from __future__ import annotations

import functools
import html.parser
import posixpath
import urllib.parse
from typing import Any

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div",
    "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "code": {"class"},
    "abbr": {"title"},
}
URL_SCHEMES = {"http", "https", "mailto"}


@functools.lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    return md


def render_markdown(text: str) -> str:
    """``text`` (Markdown, possibly with HTML) as sanitised HTML."""
    md = _parser()
    tokens = md.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag[:1] == "h":
            level = min(int(token.tag[1:]) + 1, 6)
            token.tag = f"h{level}"
    html = md.renderer.render(tokens, md.options, {})
    return sanitise_html(html)


def sanitise_html(html: str) -> str:
    """Keep only safe tags, attributes and URL schemes of ``html``."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "template"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def _filter_attribute(tag: str, attribute: str, value: str) -> Any:
    """Only ``language-*`` classes on code blocks; everything else passes the allow-list."""
    if attribute == "class":
        kept = [c for c in value.split() if c.startswith("language-") and c.isascii()]
        return " ".join(kept) or None
    return value


def plain_summary(text: str, limit: int = 220) -> str:
    """A one-paragraph plain-text summary of Markdown ``text`` (for cards and meta tags)."""
    md = _parser()
    words: list[str] = []
    for token in md.parse(text or ""):
        if token.type == "inline" and token.children is not None:
            for child in token.children:
                if child.type in ("text", "code_inline"):
                    words.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    words.append(" ")
            words.append(" ")
    summary = " ".join("".join(words).split())
    if len(summary) > limit:
        summary = summary[: limit - 1].rsplit(" ", 1)[0] + "…"
    return summary


class _LocalLinks(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                path = local_path(value)
                if path and path not in self.found:
                    self.found.append(path)


def local_path(url: str) -> str | None:
    """The relative file path a link of a card names ('images/a.png'), or None when it is
    absolute, a fragment, or climbs out of the card's folder."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return None
    path = posixpath.normpath(urllib.parse.unquote(parts.path))
    if path in (".", "") or path.startswith("../") or path == "..":
        return None
    return path


def local_links(html_text: str) -> list[str]:
    """The relative file paths the (sanitised) HTML of a card links to, in order."""
    parser = _LocalLinks()
    parser.feed(html_text)
    return parser.found
