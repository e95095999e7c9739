"""The loan products an application can be for, with the limits the forms are checked against.

Amounts are in units of 10,000 yen (万円) as on the guide's forms; terms in months.
Rates are fixed annual percentages (the bank publishes them; update here when it does).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from loanflow.errors import FieldProblem

__all__ = ["PRODUCTS", "FundPurpose", "Product", "ProductCode", "check_product", "product"]


class ProductCode(enum.StrEnum):
    """The products of the smartphone guide."""

    EDUCATION = "education"  # 教育ローン
    CAR = "car"  # マイカーローン
    FREE = "free"  # フリーローン


class FundPurpose(enum.StrEnum):
    """資金使途: what the money is for."""

    EDUCATION = "education"  # 入学金・授業料 (the education-loan fields become required)
    CAR = "car"  # 車両購入・車検
    RENOVATION = "renovation"
    MEDICAL = "medical"
    WEDDING = "wedding"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Product:
    """One product and its limits."""

    code: ProductCode
    name: str
    annual_rate_percent: Decimal
    min_amount_10k_yen: int
    max_amount_10k_yen: int
    min_term_months: int
    max_term_months: int
    allows_bonus: bool  # ボーナス併用返済
    max_deferral_months: int  # 元金据置 (0: not offered)
    fund_purposes: frozenset[FundPurpose]

    @property
    def allows_deferral(self) -> bool:
        """Whether the principal may be deferred (interest-only months) at all."""
        return self.max_deferral_months > 0


PRODUCTS: dict[ProductCode, Product] = {
    ProductCode.EDUCATION: Product(
        code=ProductCode.EDUCATION,
        name="教育ローン",
        annual_rate_percent=Decimal("2.00"),
        min_amount_10k_yen=10,
        max_amount_10k_yen=1000,
        min_term_months=6,
        max_term_months=180,
        allows_bonus=True,
        max_deferral_months=60,  # while the student is at school
        fund_purposes=frozenset({FundPurpose.EDUCATION}),
    ),
    ProductCode.CAR: Product(
        code=ProductCode.CAR,
        name="マイカーローン",
        annual_rate_percent=Decimal("2.50"),
        min_amount_10k_yen=10,
        max_amount_10k_yen=1000,
        min_term_months=6,
        max_term_months=120,
        allows_bonus=True,
        max_deferral_months=0,
        fund_purposes=frozenset({FundPurpose.CAR}),
    ),
    ProductCode.FREE: Product(
        code=ProductCode.FREE,
        name="フリーローン",
        annual_rate_percent=Decimal("5.00"),
        min_amount_10k_yen=10,
        max_amount_10k_yen=500,
        min_term_months=6,
        max_term_months=120,
        allows_bonus=False,
        max_deferral_months=0,
        fund_purposes=frozenset(
            {FundPurpose.RENOVATION, FundPurpose.MEDICAL, FundPurpose.WEDDING, FundPurpose.OTHER}
        ),
    ),
}


def product(code: str) -> Product:
    """The product for ``code``; ``ValueError`` for an unknown one."""
    return PRODUCTS[ProductCode(code)]


def check_product(code: str) -> list[FieldProblem]:
    """``product`` must name a product of the catalogue."""
    if code not in {p.value for p in ProductCode}:
        return [FieldProblem("product", "unknown", "not a product of the bank")]
    return []
