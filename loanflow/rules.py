"""Every conditional rule of the guide's application forms, as pure functions.

``check_basic`` and ``check_detailed`` return all ``FieldProblem``s at once (empty when
the form is fine). Field names are paths: ``other_loans[1].balance_10k_yen``. A
conditional field whose condition does not hold must be left empty (``not_applicable``),
so a stored form never carries stale answers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from loanflow.calendar import earliest_loan_date, is_business_day
from loanflow.errors import FieldProblem
from loanflow.forms import (
    ApplicationKind,
    BasicInfo,
    DetailedInfo,
    EducationDetails,
    FundItem,
    Housing,
    OtherLoan,
    RepaymentMethod,
    TransferAccount,
)
from loanflow.products import FundPurpose, Product
from loanflow.validation import check_kana, check_required_text

__all__ = [
    "MAX_BONUS_SHARE_PERCENT",
    "check_basic",
    "check_detailed",
    "check_full_width",
    "consolidated_balance_10k_yen",
]

MAX_BONUS_SHARE_PERCENT = 50  # at most half of the principal is repaid by bonuses
MAX_OTHER_LOANS = 10
MAX_FUND_ITEMS = 10
MAX_TRANSFER_ACCOUNTS = 5
MAX_INCOME_10K_YEN = 99_999  # 10 億円: larger figures are yen typed into the 万円 field
NAME_MAX = 30
BANK_NAME_MAX = 15
_ACCOUNT_NUMBER = re.compile(r"[0-9]{7}")
_HANDLING_NUMBER = re.compile(r"[0-9]{1,10}")


def _problem(field: str, rule: str, message: str) -> list[FieldProblem]:
    return [FieldProblem(field, rule, message)]


def _in_range(field: str, value: int | None, low: int, high: int) -> list[FieldProblem]:
    if value is None:
        return _problem(field, "required", "this field is required")
    if not low <= value <= high:
        return _problem(field, "out_of_range", f"between {low} and {high}")
    return []


def _absent(field: str, value: object) -> list[FieldProblem]:
    if value in (None, "", 0, (), False):
        return []
    return _problem(field, "not_applicable", "leave this field empty")


def _required_if(
    field: str, condition: bool, value: str | None, max_length: int
) -> list[FieldProblem]:
    if not condition:
        return _absent(field, value)
    return check_required_text(field, value or "", max_length=max_length)


def check_full_width(field: str, value: str, *, max_length: int) -> list[FieldProblem]:
    """Present, <= ``max_length``, full-width characters only (no half-width ｶﾅ or ASCII)."""
    problems = check_required_text(field, value, max_length=max_length)
    if problems:
        return problems
    if not all(unicodedata.east_asian_width(ch) in ("F", "W") for ch in value.strip()):
        return _problem(field, "format", "full-width characters only")
    return []


# ---------------------------------------------------------------- basic info


def check_basic(info: BasicInfo, *, today: date) -> list[FieldProblem]:
    """The rules of 基本情報; ``today`` (JST) bounds the contract dates of other loans."""
    under_a_year_home = info.residence_years == 0
    under_a_year_work = info.employment_years == 0
    problems = [
        *_required_if("union_name", info.union_member, info.union_name, 40),
        *_rent(info),
        *_in_range("residence_years", info.residence_years, 0, 99),
        *_in_range("residence_months", info.residence_months, 0, 11),
        *check_required_text("employer", info.employer, max_length=40),
        *_in_range("employment_years", info.employment_years, 0, 60),
        *_in_range("employment_months", info.employment_months, 0, 11),
        *_in_range("annual_income_10k_yen", info.annual_income_10k_yen, 1, MAX_INCOME_10K_YEN),
        *_required_if("moving_reason", under_a_year_home, info.moving_reason, 100),
        *_required_if("previous_employer", under_a_year_work, info.previous_employer, 40),
    ]
    if under_a_year_home:
        problems += _in_range("previous_residence_years", info.previous_residence_years, 0, 99)
    else:
        problems += _absent("previous_residence_years", info.previous_residence_years)
    if under_a_year_work:
        problems += _in_range("previous_employment_years", info.previous_employment_years, 0, 60)
    else:
        problems += _absent("previous_employment_years", info.previous_employment_years)
    if len(info.other_loans) > MAX_OTHER_LOANS:
        problems += _problem("other_loans", "too_many", f"at most {MAX_OTHER_LOANS} loans")
    for index, loan in enumerate(info.other_loans):
        problems += _other_loan(f"other_loans[{index}]", loan, today)
    return problems


def _rent(info: BasicInfo) -> list[FieldProblem]:
    if info.housing is not Housing.RENTED:
        return _absent("monthly_rent_yen", info.monthly_rent_yen)
    return _in_range("monthly_rent_yen", info.monthly_rent_yen, 1, 9_999_999)


def _other_loan(prefix: str, loan: OtherLoan, today: date) -> list[FieldProblem]:
    problems = [
        *check_required_text(f"{prefix}.lender", loan.lender, max_length=NAME_MAX),
        *_in_range(f"{prefix}.contract_year", loan.contract_year, 1950, today.year),
        *_in_range(f"{prefix}.contract_month", loan.contract_month, 1, 12),
        *_in_range(f"{prefix}.initial_amount_10k_yen", loan.initial_amount_10k_yen, 1, 99_999),
        *_in_range(f"{prefix}.balance_10k_yen", loan.balance_10k_yen, 0, 99_999),
        *_in_range(f"{prefix}.annual_repayment_10k_yen", loan.annual_repayment_10k_yen, 0, 9_999),
    ]
    if (loan.contract_year, loan.contract_month) > (today.year, today.month):
        problems += _problem(f"{prefix}.contract_month", "in_future", "a past month")
    if loan.balance_10k_yen > loan.initial_amount_10k_yen:
        problems += _problem(f"{prefix}.balance_10k_yen", "exceeds_initial", "above the loan")
    if loan.consolidate and loan.balance_10k_yen == 0:
        problems += _problem(f"{prefix}.consolidate", "nothing_to_fold", "no balance left")
    number = loan.rokin_handling_number
    if not loan.from_this_rokin:
        problems += _absent(f"{prefix}.rokin_handling_number", number)
    elif not number:
        problems += _problem(f"{prefix}.rokin_handling_number", "required", "required")
    elif not _HANDLING_NUMBER.fullmatch(number):
        problems += _problem(f"{prefix}.rokin_handling_number", "format", "half-width digits")
    return problems


def consolidated_balance_10k_yen(info: BasicInfo) -> int:
    """The balances of the other loans folded into the new one (借換), in 万円."""
    return sum(loan.balance_10k_yen for loan in info.other_loans if loan.consolidate)


# ---------------------------------------------------------------- detailed info


def check_detailed(
    info: DetailedInfo,
    *,
    product: Product,
    kind: ApplicationKind,
    basic: BasicInfo,
    today: date,
) -> list[FieldProblem]:
    """The rules of 詳細情報 for ``product``; ``today`` (JST) is the completion date."""
    problems = [
        *_loan_date(info.desired_loan_date, today),
        *_in_range("amount_10k_yen", info.amount_10k_yen, *_amount_limits(product)),
        *_term(info, product),
        *_in_range("payment_day", info.payment_day, 1, 28),
        *_repayment(info, product),
        *_funds(info, product, basic),
        *_transfers(info, kind),
    ]
    return problems


def _amount_limits(product: Product) -> tuple[int, int]:
    return product.min_amount_10k_yen, product.max_amount_10k_yen


def _loan_date(day: date, today: date) -> list[FieldProblem]:
    if not is_business_day(day):
        return _problem("desired_loan_date", "not_business_day", "a business day of the bank")
    earliest = earliest_loan_date(today)
    if day < earliest:
        return _problem("desired_loan_date", "too_early", f"on or after {earliest.isoformat()}")
    return []


def _term(info: DetailedInfo, product: Product) -> list[FieldProblem]:
    problems = [
        *_in_range("term_years", info.term_years, 0, 35),
        *_in_range("term_months", info.term_months, 0, 11),
    ]
    total = info.total_term_months
    if not problems and not product.min_term_months <= total <= product.max_term_months:
        problems += _problem(
            "term_years",
            "out_of_range",
            f"{product.min_term_months} to {product.max_term_months} months",
        )
    return problems


def _repayment(info: DetailedInfo, product: Product) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if info.repayment_method is RepaymentMethod.MONTHLY_AND_BONUS:
        if not product.allows_bonus:
            problems += _problem("repayment_method", "not_offered", "no bonus repayment")
        problems += _in_range(
            "bonus_share_percent", info.bonus_share_percent, 1, MAX_BONUS_SHARE_PERCENT
        )
        months = info.bonus_months
        if len(months) != 2 or len(set(months)) != 2 or not all(1 <= m <= 12 for m in months):
            problems += _problem("bonus_months", "format", "two different months, 1 to 12")
        if info.total_term_months < 12:
            problems += _problem("repayment_method", "term_too_short", "12 months or more")
    else:
        problems += _absent("bonus_share_percent", info.bonus_share_percent)
        problems += _absent("bonus_months", info.bonus_months)
    if info.deferral_months:
        if not product.allows_deferral:
            problems += _problem("deferral_months", "not_offered", "no principal deferral")
        elif not 0 < info.deferral_months <= product.max_deferral_months:
            problems += _problem("deferral_months", "out_of_range", "outside the product's limit")
        elif info.deferral_months >= info.total_term_months:
            problems += _problem("deferral_months", "out_of_range", "shorter than the term")
        if info.repayment_method is RepaymentMethod.MONTHLY_AND_BONUS:
            problems += _problem("deferral_months", "not_with_bonus", "not with bonus repayment")
    return problems


def _funds(info: DetailedInfo, product: Product, basic: BasicInfo) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if info.fund_purpose not in product.fund_purposes:
        problems += _problem("fund_purpose", "not_offered", f"not a use of {product.name}")
    if info.fund_purpose is FundPurpose.EDUCATION:
        problems += _education(info.education)
    else:
        problems += _absent("education", info.education)
    problems += _fund_items(info.fund_items)
    problems += _in_range("self_funding_10k_yen", info.self_funding_10k_yen, 0, 99_999)
    total = sum(item.amount_10k_yen for item in info.fund_items)
    if total != info.amount_10k_yen + info.self_funding_10k_yen:
        problems += _problem("fund_items", "mismatch", "breakdown != amount + own funds")
    folded = consolidated_balance_10k_yen(basic)
    refinanced = sum(item.amount_10k_yen for item in info.fund_items if item.refinance)
    if refinanced != folded:
        problems += _problem(
            "fund_items", "refinance_mismatch", f"the refinance lines must total {folded}"
        )
    if info.amount_10k_yen < folded:
        problems += _problem("amount_10k_yen", "below_consolidation", f"at least {folded}")
    return problems


def _education(details: EducationDetails | None) -> list[FieldProblem]:
    if details is None:
        return _problem("education", "required", "the education-loan fields are required")
    return [
        *check_required_text("education.school_name", details.school_name, max_length=NAME_MAX),
        *check_required_text("education.student_name", details.student_name, max_length=NAME_MAX),
        *check_required_text("education.relationship", details.relationship, max_length=10),
        *_in_range("education.graduation_year", details.graduation_year, 2000, 2100),
        *_in_range("education.graduation_month", details.graduation_month, 1, 12),
    ]


def _fund_items(items: Iterable[FundItem]) -> list[FieldProblem]:
    listed = list(items)
    if not listed:
        return _problem("fund_items", "required", "list what the money is for")
    if len(listed) > MAX_FUND_ITEMS:
        return _problem("fund_items", "too_many", f"at most {MAX_FUND_ITEMS} lines")
    problems: list[FieldProblem] = []
    for index, item in enumerate(listed):
        prefix = f"fund_items[{index}]"
        problems += check_required_text(f"{prefix}.description", item.description, max_length=30)
        problems += _in_range(f"{prefix}.amount_10k_yen", item.amount_10k_yen, 1, 99_999)
    return problems


def _transfers(info: DetailedInfo, kind: ApplicationKind) -> list[FieldProblem]:
    if kind is ApplicationKind.PROVISIONAL:
        return [
            *_absent("transfer_accounts", info.transfer_accounts),
            *_absent("transfer_consent", info.transfer_consent),
        ]
    accounts = info.transfer_accounts
    if not accounts:
        return _problem("transfer_accounts", "required", "where should the money go?")
    if len(accounts) > MAX_TRANSFER_ACCOUNTS:
        return _problem("transfer_accounts", "too_many", f"at most {MAX_TRANSFER_ACCOUNTS}")
    problems: list[FieldProblem] = []
    for index, account in enumerate(accounts):
        problems += _account(f"transfer_accounts[{index}]", account)
    if sum(a.amount_yen for a in accounts) > info.amount_10k_yen * 10_000:
        problems += _problem("transfer_accounts", "exceeds_amount", "more than the loan")
    if not info.transfer_consent:
        problems += _problem("transfer_consent", "required", "consent to the transfer")
    return problems


def _account(prefix: str, account: TransferAccount) -> list[FieldProblem]:
    problems = [
        *check_full_width(f"{prefix}.payee_name", account.payee_name, max_length=NAME_MAX),
        *(
            check_kana(f"{prefix}.payee_kana", account.payee_kana, max_length=NAME_MAX)
            if account.payee_kana.strip()
            else _problem(f"{prefix}.payee_kana", "required", "this field is required")
        ),
        *check_required_text(f"{prefix}.bank_name", account.bank_name, max_length=BANK_NAME_MAX),
        *check_required_text(
            f"{prefix}.branch_name", account.branch_name, max_length=BANK_NAME_MAX
        ),
        *_in_range(f"{prefix}.amount_yen", account.amount_yen, 1, 999_999_999),
    ]
    if not _ACCOUNT_NUMBER.fullmatch(account.account_number):
        problems += _problem(f"{prefix}.account_number", "format", "7 half-width digits")
    return problems
