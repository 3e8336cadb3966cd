"""What a recipe knows about its public dataset: name, task, sensor, size, licence, citation.

One :class:`Facts` per dataset, written by hand from the dataset's own documentation (each
recipe module's docstring says where every fact comes from). The card, the collection fields,
``eotdl builders list`` and the README's table of recipes are all rendered from it, so they
cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eotdl.catalog.card import Card


@dataclass(frozen=True)
class Band:
    """One spectral or radar band: ``eo:bands`` fields plus its ground sample distance."""

    name: str
    description: str
    gsd: float
    common_name: str | None = None
    center_wavelength: float | None = None  # micrometres
    full_width_half_max: float | None = None  # micrometres

    def eo(self) -> dict[str, Any]:
        """The band as an ``eo:bands`` entry (with ``gsd``, which the band object allows)."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.common_name:
            out["common_name"] = self.common_name
        if self.center_wavelength is not None:
            out["center_wavelength"] = self.center_wavelength
        if self.full_width_half_max is not None:
            out["full_width_half_max"] = self.full_width_half_max
        out["gsd"] = self.gsd
        return out


@dataclass(frozen=True)
class ClassInfo:
    """One class of the dataset's own nomenclature; ``value`` is its code in label rasters."""

    name: str
    description: str = ""
    value: int | None = None


@dataclass(frozen=True)
class Download:
    """One file of the dataset's public distribution and its published MD5."""

    filename: str
    url: str
    md5: str
    extract: bool = False


@dataclass(frozen=True)
class Facts:
    """The published facts of one dataset."""

    name: str
    title: str
    task: str  # a card task: classification, segmentation, object-detection
    sensor: str
    size: str
    license: str  # SPDX id
    doi: str
    bibtex: str
    description: str
    homepage: str
    providers: tuple[dict[str, Any], ...]
    splits: str  # how the official splits are defined, and where they come from
    classes: tuple[ClassInfo, ...] = ()
    bands: tuple[Band, ...] = ()
    keywords: tuple[str, ...] = ()
    downloads: tuple[Download, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def citation(self) -> str:
        """A one-line citation from the BibTeX: first author et al. (year), title, DOI."""
        fields = _bibtex_fields(self.bibtex)
        authors = fields.get("author", "").split(" and ")
        first = authors[0].split(",")[0].strip()
        who = (
            f"{first} et al."
            if len(authors) > 2
            else " and ".join(a.split(",")[0].strip() for a in authors)
        )
        text = f"{who} ({fields.get('year', 'n.d.')}). {fields.get('title', self.title)}."
        return f"{text} https://doi.org/{self.doi}" if self.doi else text

    def row(self) -> dict[str, str]:
        """The facts ``eotdl builders list`` and the README show."""
        return {
            "name": self.name,
            "task": self.task,
            "sensor": self.sensor,
            "size": self.size,
            "license": self.license,
            "citation": self.citation,
        }

    def collection_fields(self) -> dict[str, Any]:
        """Title, description, licence, providers, keywords and the scientific fields."""
        return {
            "title": self.title,
            "description": self.description,
            "license": self.license,
            "providers": [dict(p) for p in self.providers],
            "keywords": list(self.keywords),
            "sci:doi": self.doi,
            "sci:citation": self.citation,
        }

    def card(self, split_note: str) -> Card:
        """The dataset card, written from these facts (no TODO left)."""
        return Card(
            title=self.title,
            description=self.description,
            license=self.license,
            tasks=[self.task],
            kind="benchmark",
            tags=list(self.keywords),
            citation=self.bibtex.strip(),
            doi=self.doi,
            body=self._body(split_note),
            extra={"recipe": self.name, "sensor": self.sensor, "size": self.size},
        )

    def _body(self, split_note: str) -> str:
        lines = [f"# {self.title}", "", self.description, ""]
        lines += [f"- **Task**: {self.task}", f"- **Sensor**: {self.sensor}"]
        lines += [f"- **Size**: {self.size}", f"- **Licence**: {self.license}"]
        lines += [f"- **Home**: <{self.homepage}>", f"- **DOI**: {self.doi}", ""]
        lines += ["## Splits", "", split_note, ""]
        if self.bands:
            lines += ["## Bands", ""]
            lines += ["| band | common name | centre (µm) | width (µm) | GSD (m) | description |"]
            lines += ["|---|---|---|---|---|---|"]
            for b in self.bands:
                lines.append(
                    f"| {b.name} | {b.common_name or ''} | {_num(b.center_wavelength)}"
                    f" | {_num(b.full_width_half_max)} | {_num(b.gsd)} | {b.description} |"
                )
            lines.append("")
        if self.classes:
            lines += ["## Classes", "", "| value | class | description |", "|---|---|---|"]
            for c in self.classes:
                value = "" if c.value is None else str(c.value)
                lines.append(f"| {value} | {c.name} | {c.description} |")
            lines.append("")
        if self.notes:
            lines += ["## Notes", ""] + [f"- {n}" for n in self.notes] + [""]
        lines += ["## Providers", ""]
        for p in self.providers:
            lines.append(f"- [{p['name']}]({p['url']}) ({', '.join(p.get('roles', []))})")
        lines += ["", "## How to cite", "", "```bibtex", self.bibtex.strip(), "```", ""]
        lines += [
            f"Made with the eotdl `{self.name}` recipe from a copy in the dataset's published"
            " layout.",
            "",
        ]
        return "\n".join(lines)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def _bibtex_fields(bibtex: str) -> dict[str, str]:
    """``author``, ``title`` and ``year`` of a BibTeX entry (braces and quotes removed)."""
    found: dict[str, str] = {}
    for line in bibtex.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep:
            continue
        key = key.strip().lower()
        if key in ("author", "title", "year") and key not in found:
            found[key] = value.strip().rstrip(",").strip('{}" ').replace("{", "").replace("}", "")
    return found
