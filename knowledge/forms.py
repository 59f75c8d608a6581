"""The 申请表 as knowledge: its 填报说明, the 基本情况 rows (reported, not scored) and the 重要指标 rows.

Loaded from knowledge/data/forms/*.yaml: a list of sections, each with verbatim `text` items. Fields
that are our reading, not the document's (which department usually provides a row), are named in
the item's `editorial` list, and answers built from them say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import KnowledgeError
from knowledge.text import normalize

FORMS_DIR = Path(__file__).parent / "data" / "forms"
APPLICATION = "shandong_application"


@dataclass(frozen=True)
class FormItem:
    """One line of the 申请表: an instruction, a row to fill in, or a yes/no row."""

    section: str
    text: str
    no: int | None = None
    terms: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    provider: str | None = None
    indicators: tuple[str, ...] = ()
    editorial: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The row as printed, without line breaks."""
        return "".join(self.text.split())


@dataclass(frozen=True)
class Form:
    """A 申请表: its sections in order, with the source document they come from."""

    id: str
    source: str
    items: tuple[FormItem, ...]
    headings: dict[str, str]

    def section(self, name: str) -> list[FormItem]:
        """The items of one section (填报说明, 基本情况, 重要指标)."""
        return [i for i in self.items if i.section == name]

    def instruction_of(self, term: str) -> FormItem | None:
        """The 填报说明 item that defines a glossary term."""
        key = normalize(term)
        return next((i for i in self.section("填报说明") if key in (normalize(t) for t in i.terms)), None)

    def rows_named(self, text: str) -> list[FormItem]:
        """The 基本情况 rows a normalised question names, longest name first."""
        found: list[tuple[int, FormItem]] = []
        for item, names in self._row_names:
            size = max((len(n) for n in names if n in text), default=0)
            if size:
                found.append((size, item))
        return [item for _, item in sorted(found, key=lambda f: -f[0])]

    @cached_property
    def _row_names(self) -> list[tuple[FormItem, list[str]]]:
        """The 基本情况 rows with their normalised names, built once (rows_named runs on every question)."""
        return [(i, [normalize(n) for n in (i.name, *i.aliases) if n]) for i in self.section("基本情况")]

    def rows_provided_by(self, department: str) -> list[FormItem]:
        """The 基本情况 rows a department usually provides (our reading)."""
        return [i for i in self.section("基本情况") if i.provider == department]


def load_form(name: str = APPLICATION, directory: Path = FORMS_DIR) -> Form:
    """One form file, checked: every item has a text, editorial names only fields the item has."""
    path = directory / f"{name}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(path.name, "", f"cannot read: {exc}") from exc
    if not isinstance(raw, list):
        raise KnowledgeError(path.name, "", "expected a list of sections")
    items: list[FormItem] = []
    headings: dict[str, str] = {}
    source = ""
    for i, section in enumerate(raw):
        if not isinstance(section, dict) or not section.get("section") or not isinstance(section.get("items"), list):
            raise KnowledgeError(path.name, f"[{i}]", "a section needs `section` and a list of `items`")
        title = str(section["section"])
        source = source or str(section.get("source") or "")
        headings[title] = str(section.get("heading") or title)
        items += [_item(path.name, f"[{i}].items[{j}]", title, item) for j, item in enumerate(section["items"])]
    return Form(name, source, tuple(items), headings)


def _item(file: str, where: str, section: str, raw: Any) -> FormItem:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or not raw["text"].strip():
        raise KnowledgeError(file, where, "an item needs a verbatim `text`")
    editorial = tuple(str(e) for e in raw.get("editorial") or ())
    unknown = [e for e in editorial if e not in raw]
    if unknown:
        raise KnowledgeError(file, where, f"editorial names missing fields: {unknown}")
    ids = raw.get("indicators") or ([raw["indicator"]] if raw.get("indicator") is not None else [])
    return FormItem(
        section=section,
        text=raw["text"],
        no=int(raw["item"]) if raw.get("item") is not None else None,
        terms=tuple(str(t) for t in raw.get("terms") or ()),
        aliases=tuple(str(a) for a in raw.get("aliases") or ()),
        provider=str(raw["provider"]) if raw.get("provider") else None,
        indicators=tuple(str(x) for x in ids),
        editorial=editorial,
    )
