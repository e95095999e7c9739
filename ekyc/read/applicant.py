"""What the applicant declared in the loan application: the data the card is checked against."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ekyc.errors import InputError

__all__ = ["Applicant"]


@dataclass(frozen=True, slots=True)
class Applicant:
    """The applicant's declared identity, written as the document prints it.

    Names are in the document's script: kanji (or kana) for a driver's licence or My Number
    card, the Latin letters of the residence card for a foreign resident (``NGUYEN`` /
    ``VAN AN``). Spaces and character widths do not matter; see ``ekyc.read.normalize``.

    Attributes:
        family_name: Family name (姓).
        given_name: Given name(s) (名).
        birth_date: Date of birth.
        address: Current address (住所), building optional.
        family_name_kana: Reading of the family name; kept for the record (cards print
            no kana, so it is not compared).
        given_name_kana: Reading of the given name.
        license_number: The driver's licence number (12 digits) when declared.
    """

    family_name: str
    given_name: str
    birth_date: dt.date
    address: str
    family_name_kana: str | None = None
    given_name_kana: str | None = None
    license_number: str | None = None

    def __post_init__(self) -> None:
        for name in ("family_name", "address"):
            if not str(getattr(self, name)).strip():
                raise ValueError(f"{name} must not be empty")
        if not isinstance(self.birth_date, dt.date):
            raise ValueError(f"birth_date must be a date, got {type(self.birth_date).__name__}")

    @property
    def full_name(self) -> str:
        """Family name, a space, given name (the order Japanese documents print)."""
        return f"{self.family_name} {self.given_name}".strip()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Applicant:
        """Build from a mapping with the attribute names as keys; ``birth_date`` in ISO form.

        Raises:
            InputError: a key is missing or unknown, or a value has the wrong form.
        """
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown applicant keys: {', '.join(unknown)}", keys=unknown)
        try:
            values = dict(data)
            values["birth_date"] = dt.date.fromisoformat(str(data["birth_date"]))
            return cls(**values)
        except KeyError as exc:
            raise InputError(f"applicant data lacks {exc.args[0]!r}", key=exc.args[0]) from exc
        except (TypeError, ValueError) as exc:
            raise InputError(f"invalid applicant data: {exc}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> Applicant:
        """Parse the CLI's ``--applicant applicant.json``: one JSON object (see ``from_mapping``).

        Example:
            >>> Applicant.from_json('{"family_name": "山田", "given_name": "太郎", '
            ...     '"birth_date": "1990-04-01", "address": "東京都千代田区霞が関1-2-3"}').full_name
            '山田 太郎'
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"applicant data is not JSON: {exc.msg}", line=exc.lineno) from exc
        if not isinstance(data, dict):
            raise InputError(f"applicant data must be a JSON object, got {type(data).__name__}")
        return cls.from_mapping(data)
