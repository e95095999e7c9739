"""The guide's field rules, without a database."""

from __future__ import annotations

import string
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loanflow.errors import ValidationFailed
from loanflow.mypage import validate_registration
from loanflow.validation import PASSWORD_SYMBOLS, check_password

from .factories import registration

TODAY = date(2025, 4, 25)


def fails(*rules: tuple[str, str]) -> AbstractContextManager[object]:
    """``pytest.raises(ValidationFailed)`` that also checks exactly which rules broke."""
    return _Fails(set(rules))


class _Fails:
    def __init__(self, rules: set[tuple[str, str]]) -> None:
        self.rules = rules
        self.raises = pytest.raises(ValidationFailed)

    def __enter__(self) -> object:
        self.info = self.raises.__enter__()
        return self.info

    def __exit__(self, *exc_info: Any) -> bool:
        handled = self.raises.__exit__(*exc_info)
        assert self.info.value.rules() == self.rules
        return handled


class TestValidateRegistration:
    @pytest.mark.parametrize(
        ("overrides", "expectation"),
        [
            ({}, nullcontext()),
            ({"family_name": "  "}, fails(("family_name", "required"))),
            ({"given_name": ""}, fails(("given_name", "required"))),
            ({"family_name": "山" * 31}, fails(("family_name", "too_long"))),
            ({"given_name": "花\x00子"}, fails(("given_name", "format"))),
            ({"family_name_kana": None, "given_name_kana": None}, nullcontext()),
            ({"family_name_kana": "ﾔﾏﾀﾞ"}, fails(("family_name_kana", "format"))),  # half-width
            ({"given_name_kana": "はなこ"}, fails(("given_name_kana", "format"))),  # hiragana
            ({"given_name_kana": "ヴィー　ハナコ"}, nullcontext()),
            ({"email": ""}, fails(("email", "required"))),
            ({"email": "hanako.example.jp"}, fails(("email", "format"))),
            ({"email": "hanako@localhost"}, fails(("email", "format"))),
            ({"email": "はなこ@example.jp"}, fails(("email", "format"))),
            (
                {"email_confirmation": "hanako@example.com"},
                fails(("email_confirmation", "mismatch")),
            ),
            ({"email": "a" * 250 + "@x.jp"}, fails(("email", "too_long"))),
            ({"home_phone": ""}, fails(("home_phone", "required"))),
            ({"home_phone": "0612345678"}, fails(("home_phone", "format"))),  # no hyphens
            (
                {"home_phone": "０６-１２３４-５６７８"},
                fails(("home_phone", "format")),
            ),  # full-width
            ({"home_phone": "06-1234-567"}, fails(("home_phone", "format"))),  # 9 digits
            ({"home_phone": "0120-123-456"}, nullcontext()),
            ({"home_phone": "075-123-4567"}, nullcontext()),
            ({"mobile_phone": "090-1234-5678"}, nullcontext()),
            ({"mobile_phone": "090-1234-56789"}, fails(("mobile_phone", "format"))),
            ({"mobile_phone": "09012345678"}, fails(("mobile_phone", "format"))),
            ({"postal_code": "530-0001"}, nullcontext()),
            ({"postal_code": "5300001"}, fails(("postal_code", "format"))),
            ({"postal_code": "５３０-０００１"}, fails(("postal_code", "format"))),
            ({"address": "大阪府大阪市北区梅田1-1-1"}, nullcontext()),
            ({"address": "あ" * 201}, fails(("address", "too_long"))),
            ({"birth_date": date(1990, 1, 31)}, nullcontext()),
            ({"birth_date": date(2025, 4, 26)}, fails(("birth_date", "out_of_range"))),
            ({"birth_date": date(1899, 12, 31)}, fails(("birth_date", "out_of_range"))),
            ({"terms_consent": False}, fails(("terms_consent", "required"))),
            (
                {"family_name": "", "email": "x", "home_phone": "", "terms_consent": False},
                fails(
                    ("family_name", "required"),
                    ("email", "format"),
                    ("home_phone", "required"),
                    ("terms_consent", "required"),
                ),
            ),
        ],
    )
    def test_rules(
        self, overrides: dict[str, Any], expectation: AbstractContextManager[object]
    ) -> None:
        with expectation:
            validate_registration(registration(**overrides), today=TODAY)


class TestCheckPassword:
    @pytest.mark.parametrize(
        ("password", "confirmation", "rules"),
        [
            ("Rokin2025!", "Rokin2025!", set()),
            ("aB3$efgh", "aB3$efgh", set()),  # exactly 8
            ("aB3$efg", "aB3$efg", {("password", "too_short")}),
            ("abcdefgh1", "abcdefgh1", {("password", "missing_symbol")}),
            ("abcdefgh!", "abcdefgh!", {("password", "missing_digit")}),
            ("12345678!", "12345678!", {("password", "missing_letter")}),
            ("Rokin 2025!", "Rokin 2025!", {("password", "invalid_character")}),  # space
            ("Ｒokin2025!", "Ｒokin2025!", {("password", "invalid_character")}),  # full-width
            (
                "Rokin2025！",
                "Rokin2025！",
                {("password", "invalid_character"), ("password", "missing_symbol")},
            ),
            ("Rokin2025!", "Rokin2025?", {("password_confirmation", "mismatch")}),
            ('\\"`~[]{}|a1', '\\"`~[]{}|a1', set()),  # the unusual symbols of the list
            ("a1!" + "x" * 126, "a1!" + "x" * 126, {("password", "too_long")}),
        ],
    )
    def test_known_values(
        self, password: str, confirmation: str, rules: set[tuple[str, str]]
    ) -> None:
        assert {(p.field, p.rule) for p in check_password(password, confirmation)} == rules

    def test_symbol_set_is_the_guides(self) -> None:
        assert "".join(sorted(PASSWORD_SYMBOLS)) == "".join(
            sorted("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
        )

    @given(st.text(max_size=20))
    def test_accepts_exactly_the_rule(self, password: str) -> None:
        allowed = set(string.ascii_letters + string.digits) | PASSWORD_SYMBOLS
        expected_ok = (
            len(password) >= 8
            and set(password) <= allowed
            and any(c in string.ascii_letters for c in password)
            and any(c in string.digits for c in password)
            and any(c in PASSWORD_SYMBOLS for c in password)
        )
        assert (check_password(password, password) == []) is expected_ok

    @given(
        st.tuples(
            st.sampled_from(string.ascii_letters),
            st.sampled_from(string.digits),
            st.sampled_from(sorted(PASSWORD_SYMBOLS)),
            st.text(
                alphabet=string.ascii_letters + string.digits + string.punctuation,
                min_size=5,
                max_size=40,
            ),
        ).flatmap(lambda parts: st.permutations(list("".join(parts))))
    )
    def test_any_mix_of_the_three_kinds_is_accepted(self, chars: list[str]) -> None:
        password = "".join(chars)
        assert check_password(password, password) == []
