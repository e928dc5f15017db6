"""Hand-written training utterances for the classifier, one CSV per category."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from hotline.classifier.taxonomy import Taxonomy
from hotline.errors import ConfigError, NotFound

DEFAULT_UTTERANCES_DIR = Path(__file__).parent / "data" / "utterances"
_COLUMNS = ["text", "subcategory", "register"]


class Register(StrEnum):
    """The channel style an utterance is written in."""

    PHONE = "phone"
    CHAT = "chat"
    LETTER = "letter"


@dataclass(frozen=True)
class Utterance:
    """One citizen request labelled with its subcategory code."""

    text: str
    subcategory: str
    register: Register


def load_utterances(
    directory: Path | None = None, *, taxonomy: Taxonomy | None = None
) -> list[Utterance]:
    """Read every `*.csv` in the directory; with a taxonomy, also check each label exists."""
    source = directory or DEFAULT_UTTERANCES_DIR
    files = sorted(source.glob("*.csv"))
    if not files:
        raise ConfigError(f"no utterance files (*.csv) in {source}")
    utterances = [item for path in files for item in _read_file(path)]
    if taxonomy is not None:
        for item in utterances:
            try:
                taxonomy.subcategory(item.subcategory)
            except NotFound as exc:
                raise ConfigError(
                    f"utterance {item.text[:20]!r}: unknown subcategory {item.subcategory!r}"
                ) from exc
    return utterances


def _read_file(path: Path) -> list[Utterance]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != _COLUMNS:
            raise ConfigError(f"{path.name}: header must be {','.join(_COLUMNS)}")
        return [_parse_row(row, f"{path.name} line {reader.line_num}") for row in reader]


def _parse_row(row: dict[str, str], where: str) -> Utterance:
    text = (row.get("text") or "").strip()
    if not text:
        raise ConfigError(f"{where}: empty text")
    register = row.get("register") or ""
    if register not in {r.value for r in Register}:
        allowed = ", ".join(r.value for r in Register)
        raise ConfigError(f"{where}: register {register!r} is not one of {allowed}")
    return Utterance(
        text=text, subcategory=(row.get("subcategory") or "").strip(), register=Register(register)
    )
