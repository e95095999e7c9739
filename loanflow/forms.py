"""The application forms (step 3 of the guide) as frozen dataclasses, and their JSON codec.

Units are in the names: ``_10k_yen`` is 万円 (the guide's unit for income, loans and the
desired amount), ``_yen`` is yen (rent, transfer amounts). Conditional fields are
``None`` until their condition holds; ``loanflow.rules`` states every condition.

The forms are stored as JSON (``to_json``/``from_json``): they are read and written
whole, never queried field by field.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from loanflow.products import FundPurpose

__all__ = [
    "AccountType",
    "ApplicationKind",
    "BasicInfo",
    "DetailedInfo",
    "EducationDetails",
    "FundItem",
    "Housing",
    "LoanType",
    "OtherLoan",
    "RepaymentMethod",
    "TransferAccount",
    "from_json",
    "to_json",
]

T = TypeVar("T")


class ApplicationKind(enum.StrEnum):
    """A provisional pre-screening (仮審査) needs a full application (本審査) after it."""

    PROVISIONAL = "provisional"
    FULL = "full"


class Housing(enum.StrEnum):
    """住居区分."""

    OWNED = "owned"  # 持家
    FAMILY_OWNED = "family_owned"  # 家族所有
    RENTED = "rented"  # 賃貸 (the rent becomes required)
    COMPANY = "company"  # 社宅・寮
    OTHER = "other"


class LoanType(enum.StrEnum):
    """Kinds of other borrowing (他の借入)."""

    HOUSING = "housing"
    CAR = "car"
    EDUCATION = "education"
    CARD = "card"
    OTHER = "other"


class RepaymentMethod(enum.StrEnum):
    """Monthly instalments only, or monthly plus twice-yearly bonus instalments."""

    MONTHLY = "monthly"
    MONTHLY_AND_BONUS = "monthly_and_bonus"


class AccountType(enum.StrEnum):
    """預金種目 of a transfer account."""

    ORDINARY = "ordinary"  # 普通
    CURRENT = "current"  # 当座


@dataclass(frozen=True, slots=True)
class OtherLoan:
    """One existing loan; ``consolidate`` folds its balance into the new loan (借換)."""

    loan_type: LoanType
    lender: str
    contract_year: int
    contract_month: int
    initial_amount_10k_yen: int
    balance_10k_yen: int
    annual_repayment_10k_yen: int
    consolidate: bool = False
    from_this_rokin: bool = False  # then its handling number (取扱番号) is required
    rokin_handling_number: str | None = None


@dataclass(frozen=True, slots=True)
class BasicInfo:
    """基本情報: membership, home, work, income and other loans."""

    union_member: bool  # 労働組合・生協の組合員 (its name becomes required)
    housing: Housing
    residence_years: int
    residence_months: int
    employer: str
    employment_years: int
    employment_months: int
    annual_income_10k_yen: int
    union_name: str | None = None
    monthly_rent_yen: int | None = None
    previous_residence_years: int | None = None  # residence under 1 year
    moving_reason: str | None = None  # residence under 1 year
    previous_employer: str | None = None  # employment under 1 year
    previous_employment_years: int | None = None  # employment under 1 year
    other_loans: tuple[OtherLoan, ...] = ()


@dataclass(frozen=True, slots=True)
class FundItem:
    """One line of the use-of-funds breakdown; ``refinance`` marks the consolidated balances."""

    description: str
    amount_10k_yen: int
    refinance: bool = False


@dataclass(frozen=True, slots=True)
class EducationDetails:
    """Required when the funds are for education."""

    school_name: str
    student_name: str
    relationship: str  # 続柄, e.g. 長男
    graduation_year: int
    graduation_month: int


@dataclass(frozen=True, slots=True)
class TransferAccount:
    """振込先: where the bank sends (part of) the money (full application only)."""

    payee_name: str  # full-width, <= 30
    payee_kana: str  # full-width katakana, <= 30
    bank_name: str  # <= 15
    branch_name: str  # <= 15
    account_type: AccountType
    account_number: str  # 7 half-width digits
    amount_yen: int


@dataclass(frozen=True, slots=True)
class DetailedInfo:
    """詳細情報: date, amount, term, repayment, use of funds, transfers.

    The first repayment month is not entered: it is the month after the loan date
    (``loanflow.schedule``).
    """

    desired_loan_date: date
    amount_10k_yen: int
    term_years: int
    term_months: int  # "N years M months": 0..11
    repayment_method: RepaymentMethod
    payment_day: int  # 1..28, the day of the month instalments are debited
    fund_purpose: FundPurpose
    fund_items: tuple[FundItem, ...]
    self_funding_10k_yen: int = 0
    bonus_share_percent: int = 0  # share of the principal repaid by bonus instalments
    bonus_months: tuple[int, ...] = ()  # two months, e.g. (6, 12)
    deferral_months: int = 0  # principal deferral (元金据置), interest only
    education: EducationDetails | None = None
    transfer_accounts: tuple[TransferAccount, ...] = ()
    transfer_consent: bool = False

    @property
    def total_term_months(self) -> int:
        """The term in months: ``12 * term_years + term_months``."""
        return 12 * self.term_years + self.term_months


def to_json(value: Any) -> Any:
    """A form (or any part of one) as JSON-safe values: enums by value, dates in ISO."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    return value


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """The inverse of ``to_json`` for the dataclass ``cls``; unknown keys are refused."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown fields for {cls.__name__}: {sorted(unknown)}")
    return cls(**{name: _decode(hints[name], value) for name, value in data.items()})


def _decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        origin = typing.get_origin(hint)
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        return tuple(_decode(item_hint, item) for item in value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return from_json(hint, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if hint is date:
        return date.fromisoformat(value)
    return value
