"""The contract document: its lines, the PDF with a CJK font, the text fallback without one."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loanflow.contract import (
    ContractParty,
    ContractTerms,
    contract_lines,
    find_cjk_font,
    loan_schedule,
    render_contract,
)
from loanflow.products import ProductCode, product

from .factories import detailed_info

SIGNED = datetime(2025, 4, 28, 3, 0, tzinfo=UTC)


def _terms() -> ContractTerms:
    detailed, car = detailed_info(), product(ProductCode.CAR)
    return ContractTerms(
        application_id="app-1",
        borrower=ContractParty(name="山田 花子", address="大阪府大阪市北区梅田1-1-1"),
        product=car,
        detailed=detailed,
        schedule=loan_schedule(detailed, car),
        accepted=(("ローン契約規定", "2025-04", SIGNED), ("金銭消費貸借契約書", "2025-04", SIGNED)),
        customer_signed_at=SIGNED,
        bank_signed_at=SIGNED,
    )


class TestContractLines:
    def test_known_values(self) -> None:
        lines = contract_lines(_terms())
        assert lines[0] == "金銭消費貸借契約書"
        assert "借入金額：2,000,000円" in lines
        assert "貸付利率：年2.50%（固定）" in lines
        assert "融資日：2025年05月12日" in lines
        assert "・ローン契約規定（2025-04版）2025年04月28日 12:00 同意" in lines


class TestRenderContract:
    def test_pdf_with_a_cjk_font_is_reproducible(self) -> None:
        if find_cjk_font() is None:
            pytest.skip("no CJK font installed (fonts-noto-cjk)")
        first, second = render_contract(_terms()), render_contract(_terms())
        assert first.data.startswith(b"%PDF")
        assert (first.media_type, first.original_format) == ("application/pdf", "PDF")
        assert first.data == second.data
        assert first.original_sha256 == hashlib.sha256(first.data).hexdigest()

    def test_text_without_a_font(self, tmp_path: Path) -> None:
        prepared = render_contract(_terms(), font_path=tmp_path / "missing.ttc")
        assert prepared.filename == "契約書.txt"
        assert prepared.media_type == "text/plain; charset=utf-8"
        assert prepared.data.decode("utf-8").splitlines() == list(contract_lines(_terms()))
