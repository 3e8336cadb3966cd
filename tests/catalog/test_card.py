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


@pytest.mark.parametrize(
    "front, message",
    [
        ("tasks: [[a]]", "'tasks' must be a list of strings, but entry 1 is a list"),
        ("tags: [{a: 1}]", "'tags' must be a list of strings, but entry 1 is a mapping"),
        ("authors: {name: x}", "'authors' must be a list of strings, got a mapping"),
        ("tasks: 5", "'tasks' must be a list of strings, got a number"),
        ("title: [a, b]", "'title' must be a string, got a list"),
        ("license: {id: MIT}", "'license' must be a string, got a mapping"),
    ],
)
def test_card_fields_are_type_checked(front, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        parse_card(f"---\n{front}\n---\nbody\n", "datasets/x/README.md")


def test_card_scalars_in_lists_are_text():
    card = parse_card("---\ntags: [2023, sentinel-2]\nauthors: Ada\n---\n")
    assert card.tags == ["2023", "sentinel-2"] and card.authors == ["Ada"]
    assert card.problems() == [
        "the card has no title",
        "the card has no description",
        "the card has no license (an SPDX id such as CC-BY-4.0)",
    ]


def test_validate_reports_a_mistyped_card(tmp_path):
    from eotdl.catalog.lab import init_lab
    from eotdl.catalog.validate import Validator, validate_target
    from stacgen import collection

    lab = init_lab(tmp_path / "lab")
    folder = lab.dataset("ds")
    folder.write_collection(collection("ds"))
    folder.write_items([])
    folder.card_path.write_text("---\ntitle: t\ntasks: [[a]]\n---\n")
    report = validate_target(str(lab.root), Validator())
    assert any("'tasks' must be a list of strings" in p.message for p in report.problems)


@pytest.mark.parametrize("value", ["2020-02-30", "!!bool 0", "!!int 0xZZ", "!!float abc"])
def test_card_values_yaml_cannot_construct_are_clear_errors(value):
    with pytest.raises(InputError, match="a value YAML cannot read"):
        parse_card(f"---\ndoi: {value}\n---\n", "README.md")


def test_card_control_characters_are_clear_errors():
    with pytest.raises(InputError, match="not valid YAML"):
        parse_card("---\ntitle: \x08\n---\n", "README.md")
