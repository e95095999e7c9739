"""The contract document (金銭消費貸借契約書) filed under an application once the bank signs.

The document is built from the application's stored forms, the product's rate, the
repayment schedule (``loanflow.schedule``), the contract documents the applicant accepted
and both signatures. It is rendered as a one-page PDF in Japanese when a CJK font is
installed (Noto Sans CJK; ``find_cjk_font``), else as UTF-8 text with the same lines, so
the contract exists on any host. The PDF's dates are the bank's signing time, so the same
contract always renders to the same bytes (and sha256).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from loanflow.documents import PreparedFile
from loanflow.forms import DetailedInfo
from loanflow.mail import format_jst
from loanflow.products import Product
from loanflow.schedule import RepaymentSchedule, repayment_schedule

__all__ = [
    "CJK_FONT_CANDIDATES",
    "ContractParty",
    "ContractTerms",
    "contract_lines",
    "find_cjk_font",
    "loan_schedule",
    "render_contract",
]

CJK_FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # Debian, Ubuntu
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),  # Arch, Alpine
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),  # Fedora
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
)
_FONT_GLOBS = ("NotoSansCJK*-Regular.tt[cf]", "NotoSansCJK*-Regular.otf", "NotoSansJP-Regular.*")
_PAGE_PX = (827, 1169)  # A4 at 100 dpi
_DPI = 100.0
_FONT_PX = 15
_LINE_PX = 22
_MARGIN_PX = 60


@dataclass(frozen=True, slots=True)
class ContractParty:
    """The borrower as the contract names them."""

    name: str
    address: str


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """Everything the contract states; ``accepted`` is ``(title, version, when)``."""

    application_id: str
    borrower: ContractParty
    product: Product
    detailed: DetailedInfo
    schedule: RepaymentSchedule
    accepted: tuple[tuple[str, str, datetime], ...]
    customer_signed_at: datetime
    bank_signed_at: datetime


def loan_schedule(detailed: DetailedInfo, product: Product) -> RepaymentSchedule:
    """The repayment schedule of the loan an application asks for."""
    return repayment_schedule(
        principal_yen=detailed.amount_10k_yen * 10_000,
        annual_rate_percent=product.annual_rate_percent,
        term_months=detailed.total_term_months,
        loan_date=detailed.desired_loan_date,
        payment_day=detailed.payment_day,
        bonus_share_percent=detailed.bonus_share_percent,
        bonus_months=detailed.bonus_months,
        deferral_months=detailed.deferral_months,
    )


def _ymd(day: date) -> str:
    return f"{day:%Y年%m月%d日}"


def contract_lines(terms: ContractTerms) -> tuple[str, ...]:
    """The contract's text, one entry per printed line."""
    d, s = terms.detailed, terms.schedule
    first = s.instalments[0]
    lines = [
        "金銭消費貸借契約書",
        "",
        f"契約番号（お申込み番号）：{terms.application_id}",
        f"借主：{terms.borrower.name}　様",
        f"住所：{terms.borrower.address}",
        "貸主：ろうきん",
        "",
        f"商品：{terms.product.name}",
        f"借入金額：{s.principal_yen:,}円",
        f"貸付利率：年{s.annual_rate_percent}%（固定）",
        f"借入期間：{d.term_years}年{d.term_months}か月（{d.total_term_months}回）",
        f"融資日：{_ymd(d.desired_loan_date)}",
        f"返済日：毎月{d.payment_day}日（初回 {_ymd(s.first_due)}）",
        f"初回返済額：{first.payment_yen:,}円",
        f"うちボーナス返済元金：{s.bonus_principal_yen:,}円",
        f"利息総額：{s.total_interest_yen:,}円",
        f"返済総額：{s.total_paid_yen:,}円",
        "",
        "借主は、次の規定・書面の内容を確認のうえ同意しました。",
    ]
    lines += [
        f"・{title}（{version}版）{format_jst(when)} 同意"
        for title, version, when in terms.accepted
    ]
    lines += [
        "",
        f"借主電子署名：{format_jst(terms.customer_signed_at)}",
        f"貸主電子署名：{format_jst(terms.bank_signed_at)}",
    ]
    return tuple(lines)


@lru_cache(maxsize=1)
def find_cjk_font() -> Path | None:
    """A font with Japanese glyphs: a known path first, then a search of the font folders."""
    for candidate in CJK_FONT_CANDIDATES:
        if candidate.is_file():
            return candidate
    for root in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        if root.is_dir():
            for pattern in _FONT_GLOBS:
                found = sorted(root.rglob(pattern))
                if found:
                    return found[0]
    return None


def _pdf(lines: Sequence[str], font_path: Path, signed_at: datetime) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path), _FONT_PX, index=0)  # index 0 of the .ttc: JP
    page = Image.new("L", _PAGE_PX, 255)
    draw = ImageDraw.Draw(page)
    y = _MARGIN_PX
    for number, line in enumerate(lines):
        title = number == 0
        draw.text((_MARGIN_PX, y), line, fill=0, font=font.font_variant(size=24) if title else font)
        y += _LINE_PX * (2 if title else 1)
    buffer = io.BytesIO()
    page.save(
        buffer,
        "PDF",
        resolution=_DPI,
        title="金銭消費貸借契約書",
        creationDate=signed_at.utctimetuple(),  # PIL writes struct_time as UTC
        modDate=signed_at.utctimetuple(),
    )
    return buffer.getvalue()


def render_contract(terms: ContractTerms, *, font_path: Path | None = None) -> PreparedFile:
    """The contract as a file ready for ``documents.add_file``.

    Args:
        terms: What the contract states.
        font_path: A CJK font; ``find_cjk_font()`` when ``None``. Without one the
            contract is UTF-8 text.
    """
    lines = contract_lines(terms)
    font = font_path or find_cjk_font()
    if font is not None and font.is_file():
        data = _pdf(lines, font, terms.bank_signed_at)
        name, media_type, fmt = "契約書.pdf", "application/pdf", "PDF"
    else:
        data = ("\n".join(lines) + "\n").encode("utf-8")
        name, media_type, fmt = "契約書.txt", "text/plain; charset=utf-8", "TXT"
    return PreparedFile(
        data=data,
        filename=name,
        media_type=media_type,
        original_sha256=hashlib.sha256(data).hexdigest(),
        original_format=fmt,
    )
