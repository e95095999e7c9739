"""Every conditional rule of the application forms, without a database."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import date
from typing import Any

import pytest

from loanflow.errors import FieldProblem, ValidationFailed
from loanflow.forms import (
    ApplicationKind,
    BasicInfo,
    DetailedInfo,
    EducationDetails,
    FundItem,
    Housing,
    RepaymentMethod,
    from_json,
    to_json,
)
from loanflow.products import PRODUCTS, FundPurpose, ProductCode
from loanflow.rules import check_basic, check_detailed

from .factories import basic_info, detailed_info, other_loan, transfer_account
from .test_validation import fails

TODAY = date(2025, 4, 25)  # Friday; earliest loan date 2025-05-09 (Golden Week between)
FULL, PROVISIONAL = ApplicationKind.FULL, ApplicationKind.PROVISIONAL
EDUCATION = EducationDetails("大阪ろうきん大学", "山田太郎", "長男", 2029, 3)


def _raise(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(tuple(problems))


class TestCheckBasic:
    @pytest.mark.parametrize(
        ("overrides", "expectation"),
        [
            ({}, nullcontext()),
            # union / co-op membership -> its name
            ({"union_member": True}, fails(("union_name", "required"))),
            ({"union_member": True, "union_name": "ろうきん労組"}, nullcontext()),
            ({"union_name": "ろうきん労組"}, fails(("union_name", "not_applicable"))),
            # rented home -> rent
            ({"housing": Housing.RENTED}, fails(("monthly_rent_yen", "required"))),
            ({"housing": Housing.RENTED, "monthly_rent_yen": 85_000}, nullcontext()),
            (
                {"housing": Housing.RENTED, "monthly_rent_yen": 0},
                fails(("monthly_rent_yen", "out_of_range")),
            ),
            ({"monthly_rent_yen": 85_000}, fails(("monthly_rent_yen", "not_applicable"))),
            # residence under a year -> previous years and the reason for moving
            (
                {"residence_years": 0},
                fails(("previous_residence_years", "required"), ("moving_reason", "required")),
            ),
            (
                {"residence_years": 0, "previous_residence_years": 12, "moving_reason": "転勤"},
                nullcontext(),
            ),
            ({"moving_reason": "転勤"}, fails(("moving_reason", "not_applicable"))),
            (
                {"previous_residence_years": 3},
                fails(("previous_residence_years", "not_applicable")),
            ),
            ({"residence_months": 12}, fails(("residence_months", "out_of_range"))),
            # employment under a year -> previous employer and years
            (
                {"employment_years": 0},
                fails(("previous_employer", "required"), ("previous_employment_years", "required")),
            ),
            (
                {
                    "employment_years": 0,
                    "previous_employer": "前職株式会社",
                    "previous_employment_years": 4,
                },
                nullcontext(),
            ),
            ({"previous_employer": "前職株式会社"}, fails(("previous_employer", "not_applicable"))),
            ({"employer": " "}, fails(("employer", "required"))),
            # income in units of 10,000 yen
            ({"annual_income_10k_yen": 0}, fails(("annual_income_10k_yen", "out_of_range"))),
            (
                {"annual_income_10k_yen": 4_500_000},
                fails(("annual_income_10k_yen", "out_of_range")),
            ),
            ({"annual_income_10k_yen": 99_999}, nullcontext()),
        ],
    )
    def test_rules(
        self, overrides: dict[str, Any], expectation: AbstractContextManager[object]
    ) -> None:
        with expectation:
            _raise(check_basic(basic_info(**overrides), today=TODAY))

    @pytest.mark.parametrize(
        ("loan", "expectation"),
        [
            ({}, nullcontext()),
            ({"lender": ""}, fails(("other_loans[0].lender", "required"))),
            ({"contract_month": 13}, fails(("other_loans[0].contract_month", "out_of_range"))),
            (
                {"contract_year": 2025, "contract_month": 5},
                fails(("other_loans[0].contract_month", "in_future")),
            ),
            ({"contract_year": 2025, "contract_month": 4}, nullcontext()),
            (
                {"balance_10k_yen": 151},
                fails(("other_loans[0].balance_10k_yen", "exceeds_initial")),
            ),
            ({"consolidate": True}, nullcontext()),
            (
                {"consolidate": True, "balance_10k_yen": 0},
                fails(("other_loans[0].consolidate", "nothing_to_fold")),
            ),
            # an existing loan of this rokin -> its handling number
            (
                {"from_this_rokin": True},
                fails(("other_loans[0].rokin_handling_number", "required")),
            ),
            ({"from_this_rokin": True, "rokin_handling_number": "0012345"}, nullcontext()),
            (
                {"from_this_rokin": True, "rokin_handling_number": "００１２"},
                fails(("other_loans[0].rokin_handling_number", "format")),
            ),
            (
                {"rokin_handling_number": "0012345"},
                fails(("other_loans[0].rokin_handling_number", "not_applicable")),
            ),
        ],
    )
    def test_other_loans(
        self, loan: dict[str, Any], expectation: AbstractContextManager[object]
    ) -> None:
        with expectation:
            _raise(check_basic(basic_info(other_loans=(other_loan(**loan),)), today=TODAY))

    def test_every_problem_is_reported_at_once(self) -> None:
        info = basic_info(union_member=True, housing=Housing.RENTED, employment_years=0)
        assert {(p.field, p.rule) for p in check_basic(info, today=TODAY)} == {
            ("union_name", "required"),
            ("monthly_rent_yen", "required"),
            ("previous_employer", "required"),
            ("previous_employment_years", "required"),
        }


def _detailed(
    overrides: dict[str, Any],
    *,
    kind: ApplicationKind = FULL,
    product: ProductCode = ProductCode.CAR,
    basic: BasicInfo | None = None,
) -> None:
    info = detailed_info(kind, **overrides)
    _raise(
        check_detailed(
            info, product=PRODUCTS[product], kind=kind, basic=basic or basic_info(), today=TODAY
        )
    )


BONUS = {
    "repayment_method": RepaymentMethod.MONTHLY_AND_BONUS,
    "bonus_share_percent": 30,
    "bonus_months": (6, 12),
}


class TestCheckDetailed:
    @pytest.mark.parametrize(
        ("overrides", "expectation"),
        [
            ({}, nullcontext()),
            # the loan date: >= 7 business days after completion, never a closed day
            ({"desired_loan_date": date(2025, 5, 9)}, nullcontext()),
            ({"desired_loan_date": date(2025, 5, 8)}, fails(("desired_loan_date", "too_early"))),
            (
                {"desired_loan_date": date(2025, 5, 10)},
                fails(("desired_loan_date", "not_business_day")),
            ),
            (
                {"desired_loan_date": date(2025, 7, 21)},
                fails(("desired_loan_date", "not_business_day")),
            ),
            # amount and term within the product's limits; "N years M months"
            (
                {"amount_10k_yen": 1001},
                fails(("amount_10k_yen", "out_of_range"), ("fund_items", "mismatch")),
            ),
            ({"term_years": 0, "term_months": 5}, fails(("term_years", "out_of_range"))),
            ({"term_years": 10, "term_months": 0}, nullcontext()),
            ({"term_years": 10, "term_months": 1}, fails(("term_years", "out_of_range"))),
            ({"term_months": 12}, fails(("term_months", "out_of_range"))),
            ({"payment_day": 29}, fails(("payment_day", "out_of_range"))),
            # bonus repayment: share of the principal, two months, a long enough term
            (BONUS, nullcontext()),
            ({**BONUS, "bonus_share_percent": 51}, fails(("bonus_share_percent", "out_of_range"))),
            ({**BONUS, "bonus_share_percent": 0}, fails(("bonus_share_percent", "out_of_range"))),
            ({**BONUS, "bonus_months": (6,)}, fails(("bonus_months", "format"))),
            ({**BONUS, "bonus_months": (6, 6)}, fails(("bonus_months", "format"))),
            ({**BONUS, "bonus_months": (0, 6)}, fails(("bonus_months", "format"))),
            (
                {**BONUS, "term_years": 0, "term_months": 11},
                fails(("repayment_method", "term_too_short")),
            ),
            ({"bonus_share_percent": 30}, fails(("bonus_share_percent", "not_applicable"))),
            ({"bonus_months": (6, 12)}, fails(("bonus_months", "not_applicable"))),
            # principal deferral only where the product allows it
            ({"deferral_months": 6}, fails(("deferral_months", "not_offered"))),
            # use of funds and its breakdown
            ({"fund_purpose": FundPurpose.WEDDING}, fails(("fund_purpose", "not_offered"))),
            ({"fund_items": ()}, fails(("fund_items", "required"), ("fund_items", "mismatch"))),
            ({"self_funding_10k_yen": 20}, fails(("fund_items", "mismatch"))),
            (
                {"fund_items": (FundItem("車両本体価格", 200), FundItem("諸費用", 30))},
                nullcontext(),
            ),
            (
                {"fund_items": (FundItem("", 230),)},
                fails(("fund_items[0].description", "required")),
            ),
            ({"education": EDUCATION}, fails(("education", "not_applicable"))),
        ],
    )
    def test_rules(
        self, overrides: dict[str, Any], expectation: AbstractContextManager[object]
    ) -> None:
        with expectation:
            _detailed(overrides)

    @pytest.mark.parametrize(
        ("overrides", "expectation"),
        [
            ({"education": EDUCATION}, nullcontext()),
            ({"education": None}, fails(("education", "required"))),
            (
                {"education": EducationDetails("", "山田太郎", "長男", 2029, 13)},
                fails(
                    ("education.school_name", "required"),
                    ("education.graduation_month", "out_of_range"),
                ),
            ),
            ({"education": EDUCATION, "deferral_months": 48}, nullcontext()),
            (
                {"education": EDUCATION, "deferral_months": 61},
                fails(("deferral_months", "out_of_range")),
            ),
            (
                {"education": EDUCATION, "deferral_months": 60, "term_years": 5},
                fails(("deferral_months", "out_of_range")),
            ),
            (
                {"education": EDUCATION, "deferral_months": 12, **BONUS},
                fails(("deferral_months", "not_with_bonus")),
            ),
        ],
    )
    def test_education_loan(
        self, overrides: dict[str, Any], expectation: AbstractContextManager[object]
    ) -> None:
        education = {"fund_purpose": FundPurpose.EDUCATION, "term_years": 10, **overrides}
        with expectation:
            _detailed(education, product=ProductCode.EDUCATION)

    def test_free_loan_has_no_bonus_repayment(self) -> None:
        with fails(("repayment_method", "not_offered")):
            _detailed({**BONUS, "fund_purpose": FundPurpose.OTHER}, product=ProductCode.FREE)

    @pytest.mark.parametrize(
        ("items", "amount", "expectation"),
        [
            # 60 of other loans folded in: a refinance line of exactly 60, inside the amount
            (
                (FundItem("車両本体価格", 200), FundItem("借換", 60, refinance=True)),
                230,
                nullcontext(),
            ),
            ((FundItem("車両本体価格", 260),), 230, fails(("fund_items", "refinance_mismatch"))),
            (
                (FundItem("車両本体価格", 210), FundItem("借換", 50, refinance=True)),
                230,
                fails(("fund_items", "refinance_mismatch")),
            ),
            (
                (FundItem("借換", 60, refinance=True),),
                50,
                fails(("amount_10k_yen", "below_consolidation"), ("fund_items", "mismatch")),
            ),
        ],
    )
    def test_consolidation(
        self, items: tuple[FundItem, ...], amount: int, expectation: AbstractContextManager[object]
    ) -> None:
        basic = basic_info(
            other_loans=(other_loan(consolidate=True), other_loan(lender="XYZ", balance_10k_yen=10))
        )
        overrides = {
            "fund_items": items,
            "amount_10k_yen": amount,
            "transfer_accounts": (transfer_account(amount_yen=500_000),),
        }
        with expectation:
            _detailed(overrides, basic=basic)

    @pytest.mark.parametrize(
        ("account", "expectation"),
        [
            ({}, nullcontext()),
            ({"payee_name": "ﾛｳｷﾝ"}, fails(("transfer_accounts[0].payee_name", "format"))),
            ({"payee_name": "Rokin Motors"}, fails(("transfer_accounts[0].payee_name", "format"))),
            ({"payee_name": "ろ" * 31}, fails(("transfer_accounts[0].payee_name", "too_long"))),
            ({"payee_kana": "ろうきん"}, fails(("transfer_accounts[0].payee_kana", "format"))),
            ({"payee_kana": "ア" * 31}, fails(("transfer_accounts[0].payee_kana", "too_long"))),
            ({"payee_kana": ""}, fails(("transfer_accounts[0].payee_kana", "required"))),
            ({"bank_name": "あ" * 16}, fails(("transfer_accounts[0].bank_name", "too_long"))),
            ({"branch_name": "あ" * 15}, nullcontext()),
            (
                {"account_number": "123456"},
                fails(("transfer_accounts[0].account_number", "format")),
            ),
            (
                {"account_number": "１２３４５６７"},
                fails(("transfer_accounts[0].account_number", "format")),
            ),
            ({"amount_yen": 0}, fails(("transfer_accounts[0].amount_yen", "out_of_range"))),
            ({"amount_yen": 2_000_001}, fails(("transfer_accounts", "exceeds_amount"))),
        ],
    )
    def test_transfer_accounts(
        self, account: dict[str, Any], expectation: AbstractContextManager[object]
    ) -> None:
        with expectation:
            _detailed({"transfer_accounts": (transfer_account(**account),)})

    @pytest.mark.parametrize(
        ("kind", "overrides", "expectation"),
        [
            (FULL, {"transfer_accounts": ()}, fails(("transfer_accounts", "required"))),
            (FULL, {"transfer_consent": False}, fails(("transfer_consent", "required"))),
            (PROVISIONAL, {}, nullcontext()),
            (
                PROVISIONAL,
                {"transfer_accounts": (transfer_account(),)},
                fails(("transfer_accounts", "not_applicable")),
            ),
            (
                PROVISIONAL,
                {"transfer_consent": True},
                fails(("transfer_consent", "not_applicable")),
            ),
        ],
    )
    def test_transfers_only_on_a_full_application(
        self,
        kind: ApplicationKind,
        overrides: dict[str, Any],
        expectation: AbstractContextManager[object],
    ) -> None:
        with expectation:
            _detailed(overrides, kind=kind)


class TestJson:
    def test_round_trip(self) -> None:
        basic = basic_info(other_loans=(other_loan(consolidate=True),), union_name="労組")
        detailed = detailed_info(education=EDUCATION, bonus_months=(6, 12))
        assert from_json(BasicInfo, to_json(basic)) == basic
        assert from_json(DetailedInfo, to_json(detailed)) == detailed
        assert to_json(detailed)["desired_loan_date"] == "2025-05-12"

    def test_unknown_field_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown fields"):
            from_json(BasicInfo, {**to_json(basic_info()), "salary": 1})
