from eotdl.catalog.card import Card
from eotdl.catalog.credits import ledger
from labs import commit, make_lab, stub_items, write_stub


def test_ledger_from_history(tmp_path):
    lab = make_lab(tmp_path, git=True)
    write_stub(lab, "crops", stub_items(100))
    commit(lab, "add crops", author="Ada Lovelace <ada@example.org>")
    write_stub(lab, "crops", stub_items(150), version="1.1.0")
    commit(
        lab,
        "more crops\n\nCo-authored-by: Grace Hopper <grace@example.org>",
        author="Alan Turing <alan@example.org>",
    )
    lab.dataset("crops").write_card(
        Card(
            title="Crops",
            description="d",
            license="MIT",
            extra={"reviewed_by": "Grace Hopper <grace@example.org>"},
        )
    )
    commit(lab, "review", author="Grace Hopper <grace@example.org>")
    book = ledger(lab.root)
    by = {c.email: c for c in book.for_dataset("crops")}
    assert by["ada@example.org"].created and by["ada@example.org"].items_added == 100
    assert by["ada@example.org"].score == 10 + 1.0
    assert by["alan@example.org"].items_added == 50 and not by["alan@example.org"].created
    assert by["grace@example.org"].items_added == 50  # co-author shares the commit
    assert by["grace@example.org"].reviews == 1 and by["grace@example.org"].improvements == 1
    totals = book.totals()
    assert totals[0]["email"] == "ada@example.org"
    assert {t["email"] for t in totals} == {
        "ada@example.org",
        "alan@example.org",
        "grace@example.org",
    }


def test_not_a_repo_gives_an_empty_ledger(tmp_path):
    assert ledger(tmp_path).contributions == []


def test_site_contributors_page_shows_the_ledger(tmp_path):
    from eotdl.site.build import build_site

    lab = make_lab(tmp_path, git=True)
    write_stub(lab, "crops", stub_items(3))
    commit(lab, "add crops", author="Ada Lovelace <ada@example.org>")
    build_site(lab, qa=False)
    page = (lab.site_dir / "contributors.html").read_text()
    assert "Ada Lovelace" in page and "10.03 points" in page


def test_ledger_of_one_dataset(tmp_path):
    lab = make_lab(tmp_path, git=True)
    write_stub(lab, "crops", stub_items(3))
    write_stub(lab, "trees", stub_items(2))
    commit(lab, "add both", author="Ada Lovelace <ada@example.org>")
    assert {c.dataset for c in ledger(lab.root).contributions} == {"crops", "trees"}
    assert [c.dataset for c in ledger(lab.root, "trees").contributions] == ["trees"]
    assert ledger(lab.root, "nothing").contributions == []
