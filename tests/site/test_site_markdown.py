"""Cards are rendered with markdown-it-py and sanitised with nh3: no script survives."""

from __future__ import annotations

import re

import pytest
from sitelab import XSS_BODY

from eotdl.site.markdown import plain_summary, render_markdown


def test_hostile_card_is_defused() -> None:
    html = render_markdown(XSS_BODY)
    lowered = html.lower()
    assert "<script" not in lowered
    assert re.search(r"=\s*\"[^\"]*(javascript|data):", lowered) is None, html  # no such URL
    assert re.search(r"\son[a-z]+\s*=", lowered) is None, html
    for tag in ("<iframe", "<svg", "<math", "<form", "<object", "<input", "<video", "<body"):
        assert tag not in lowered, tag
    assert "style=" not in lowered
    # what is harmless survives
    assert "<table>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "click me" in html and "markdown link" in html


@pytest.mark.parametrize(
    "markdown, expected",
    [
        ("# Title", "<h2>Title</h2>"),
        ("### Deep", "<h4>Deep</h4>"),
        ("[site](https://example.org)", 'href="https://example.org"'),
        ("[mail](mailto:a@b.org)", 'href="mailto:a@b.org"'),
        ("[page](./other.html)", 'href="./other.html"'),
        ("![chart](img/plot.png)", 'src="img/plot.png"'),
        ("```python\nx = 1\n```", '<code class="language-python">'),
        ("~~old~~", "<s>old</s>"),
    ],
)
def test_safe_markdown_is_kept(markdown: str, expected: str) -> None:
    assert expected in render_markdown(markdown)


@pytest.mark.parametrize(
    "markdown",
    [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html;base64,PHN)",
        "<a href='jav&#x09;ascript:alert(1)'>x</a>",
        "[x](vbscript:msgbox)",
    ],
)
def test_dangerous_urls_never_become_links(markdown: str) -> None:
    html = render_markdown(markdown).lower()
    assert "href=" not in html, html


def test_links_get_noopener() -> None:
    assert 'rel="noopener noreferrer nofollow"' in render_markdown("[x](https://example.org)")


def test_class_attributes_only_for_code_languages() -> None:
    html = render_markdown('<span class="evil language-x">t</span>\n\n```js\n1\n```')
    assert 'class="evil' not in html and 'class="language-js"' in html


def test_plain_summary() -> None:
    text = "# Title\n\nSome **bold** text and `code`.\n\nNext <b>para</b>."
    assert plain_summary(text) == "Title Some bold text and code. Next para."
    assert plain_summary("word " * 100, limit=30).endswith("…")
