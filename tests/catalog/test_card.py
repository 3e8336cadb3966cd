import pytest

from eotdl.catalog.card import Card, parse_card, read_card, render_card, write_card
from eotdl.errors import InputError


def test_round_trip(tmp_path):
    card = Card(
        title="Crops",
        description="Crop types in Catalonia",
        license="CC-BY-4.0",
        tasks=["classification"],
        kind="benchmark",
        tags=["sentinel-2"],
        authors=["Ada"],
        citation="Ada (2024). Crops.",
        doi="10.5281/zenodo.1",
        body="# Crops\n\nText.\n",
        extra={"reviewed_by": "Grace"},
    )
    write_card(tmp_path / "README.md", card)
    again = read_card(tmp_path / "README.md")
    assert again == card
    assert render_card(again).startswith("---\ntitle: Crops\n")


def test_problems_listed():
    card = Card(kind="homework", tasks=["dreaming"])
    problems = " / ".join(card.problems())
    assert "no title" in problems and "no license" in problems
    assert "kind 'homework'" in problems and "dreaming" in problems
    assert Card(title="t", description="d", license="MIT").problems() == []


def test_no_front_matter_is_just_a_body():
    assert parse_card("# Hello\n").body == "# Hello\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("---\ntitle: x\n", "never closed"),
        ("---\ntitle: [x\n---\n", "not valid YAML"),
        ("---\n- a\n---\n", "mapping"),
        ("---\ntags: 3\n---\n", "'tags' must be a list"),
    ],
)
def test_bad_front_matter(text, message):
    with pytest.raises(InputError, match=message):
        parse_card(text)
