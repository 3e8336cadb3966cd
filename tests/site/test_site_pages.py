"""Templates: autoescape on for every one, StrictUndefined, snippets and citations."""

from __future__ import annotations

from importlib import resources

import jinja2
import pytest

from eotdl.site import pages
from eotdl.site.snippets import PLACEHOLDER, bibtex, download_snippets, site_root
from eotdl.site.thumbnail import thumbnail_svg

SITE = pages.SiteInfo("A <lab>", "", "")


def test_autoescape_is_on_for_every_template() -> None:
    env = pages.environment()
    names = [
        n
        for n in resources.files("eotdl.site").joinpath("templates").iterdir()
        if n.name.endswith(".html")
    ]
    assert len(names) >= 7
    for name in names:
        template = env.get_template(name.name)
        assert template.environment.autoescape is True
    html = pages.render("404.html", SITE, "/")
    assert "A &lt;lab&gt;" in html and "A <lab>" not in html


def test_missing_variable_is_an_error() -> None:
    with pytest.raises(jinja2.UndefinedError):
        pages.render("contributors.html", SITE, "")


def test_contributors_page_escapes_names() -> None:
    people = [
        {
            "name": "<img src=x onerror=alert(1)>",
            "url": "",
            "roles": ["author"],
            "works": [{"title": "<b>t</b>", "url": "datasets/x/"}],
            "score": "",
        }
    ]
    html = pages.render(
        "contributors.html", SITE, "", people=people, datasets_count=1, models_count=0
    )
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<b>t</b>" not in html


def test_snippets_use_the_base_url_or_the_placeholder() -> None:
    assert site_root("") == PLACEHOLDER
    assert site_root("https://lab.example.org/eo") == "https://lab.example.org/eo/"
    snippets = download_snippets("datasets", "chips", "chips-col", "https://x.org/", True)
    text = "\n".join(s.code for s in snippets)
    assert "eotdl get chips --lab https://x.org/" in text
    assert 'Client.open("https://x.org/catalog.json")' in text
    assert 'get_collection("chips-col")' in text
    assert "https://x.org/datasets/chips/items.parquet" in text


def test_bibtex_escapes_special_characters() -> None:
    entry = bibtex(
        "my-data",
        "Crops & {fields}",
        ["A. B", "C_D"],
        "https://x.org/d/",
        "1.0.0",
        "10.1/x",
        "CC-BY-4.0",
        "2024",
    )
    assert entry.startswith("@misc{my_data,")
    assert "title = {Crops \\& \\{fields\\}}" in entry
    assert "author = {A. B and C\\_D}" in entry
    assert "year = {2024}" in entry and "url = {https://x.org/d/}" in entry


def test_thumbnail_is_svg_of_numbers_only() -> None:
    svg = thumbnail_svg([[0, 0, 1, 1], [2, 2, 3, 3]], "<script>")
    assert svg.startswith("<svg") and "<script" not in svg
    assert svg.count("<rect") >= 4
    many = thumbnail_svg([[i * 0.01, 0, i * 0.01 + 0.005, 0.005] for i in range(2000)], "x")
    assert len(many) < 60_000
    assert thumbnail_svg([], "x").startswith("<svg")
