"""Documents the loan flow refuses: a health-insurance card and a passport data page."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from benchmarks.synth.identity import Identity
from benchmarks.synth.layout_common import Canvas, gradient_paper, portrait
from benchmarks.synth.text import era_date

INK = (30, 30, 30)
LABEL = (80, 80, 80)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def health_front(
    c: Canvas, ident: Identity, face: npt.NDArray[np.uint8] | None, rng: np.random.Generator
) -> None:
    del face
    tint = [(214, 232, 246), (246, 226, 206), (222, 242, 222)][int(rng.integers(0, 3))]
    gradient_paper(c, (252, 252, 250), tint, rng)
    c.text(4.0, 7.4, "健康保険　被保険者証", 3.4, INK, bold=True)
    c.text(60.0, 7.0, "本人（被保険者）", 2.2, INK)
    c.text(52.0, 11.6, era_date(ident.issue, zero_pad=False) + "交付", 1.9, INK, field="issue_date")
    num = ident.document_number
    c.text(
        4.0,
        16.0,
        f"記号　{num[:4]}　　番号　{int(num[4:]) % 100}　（枝番）00",
        2.4,
        INK,
        field="number",
    )
    c.text(4.0, 22.6, "氏名", 2.1, LABEL)
    c.text(14.0, 23.0, ident.name, 3.4, INK, bold=True, field="name")
    c.text(4.0, 28.4, "生年月日", 2.1, LABEL)
    c.text(16.0, 28.6, era_date(ident.birth, zero_pad=False), 2.5, INK, field="birth_date")
    c.text(52.0, 28.6, "性別　" + ("男" if ident.sex == "M" else "女"), 2.5, INK, field="sex")
    c.text(4.0, 33.6, "資格取得年月日　" + era_date(ident.issue, zero_pad=False), 2.1, INK)
    c.text(4.0, 38.4, "事業所名称　株式会社サンプル商事", 2.1, INK)
    c.text(4.0, 43.2, f"保険者番号　06{int(rng.integers(100000, 999999))}", 2.1, INK)
    c.text(4.0, 47.6, f"保険者名称　全国健康保険協会　{ident.prefecture}支部", 2.1, INK)
    c.box((66.0, 40.0, 80.0, 52.0), (200, 70, 60), width=0.3)
    c.text(73.0, 47.0, "印", 3.0, (200, 70, 60), anchor="ms")


def health_back(
    c: Canvas, ident: Identity, face: npt.NDArray[np.uint8] | None, rng: np.random.Generator
) -> None:
    del face, ident
    gradient_paper(c, (250, 250, 248), (242, 242, 238), rng)
    c.text(4.0, 7.0, "注意事項", 2.6, INK, bold=True)
    notes = (
        "一　保険医療機関等において診療を受けようとするときには、必ずこの証を",
        "　　窓口に提出してください。",
        "二　被保険者の資格がなくなったときは、遅滞なく",
        "　　この証を事業主に返してください。",
        "住所",
    )
    for k, s in enumerate(notes):
        c.text(4.0, 12.0 + k * 3.4, s, 1.9, INK)
    c.line(12.0, 26.4, 82.0, 26.4, LABEL, 0.12)
    c.box((2.6, 33.0, 83.0, 51.5), LABEL, width=0.15)
    c.text(4.0, 36.4, "臓器提供意思表示欄（記入は自由です。）", 1.9, INK)


def _mrz_check(s: str) -> str:
    vals = [int(ch) if ch.isdigit() else (ord(ch) - 55 if ch.isalpha() else 0) for ch in s]
    return str(sum(v * (7, 3, 1)[i % 3] for i, v in enumerate(vals)) % 10)


def mrz_lines(ident: Identity) -> tuple[str, str]:
    """The ICAO 9303 TD3 machine-readable zone (two 44-character lines) with check digits."""
    name = f"{ident.family_romaji}<<{ident.given_romaji}".replace(" ", "<")
    line1 = f"P<JPN{name}".ljust(44, "<")[:44]
    if ident.expiry is None:
        raise ValueError("a passport needs an expiry date")
    num = ident.document_number.ljust(9, "<")
    birth, expiry = ident.birth.strftime("%y%m%d"), ident.expiry.strftime("%y%m%d")
    personal = "<" * 14
    body = f"{num}{_mrz_check(num)}JPN{birth}{_mrz_check(birth)}"
    body += f"{ident.sex}{expiry}{_mrz_check(expiry)}"
    body += f"{personal}{_mrz_check(personal)}"
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1, body + _mrz_check(composite)


def _icao_date(day: object) -> str:
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"  # type: ignore[attr-defined]


def passport_front(
    c: Canvas, ident: Identity, face: npt.NDArray[np.uint8], rng: np.random.Generator
) -> None:
    gradient_paper(c, (240, 230, 238), (232, 236, 244), rng, lines=(226, 214, 230), n_lines=30)
    c.text(4.0, 8.0, "日本国　JAPAN", 3.4, INK, bold=True)
    c.text(62.5, 8.0, "旅券　PASSPORT", 3.4, INK, bold=True, anchor="ms")
    x0, y0, x1, y1 = c.rect_px((5.0, 14.0, 37.0, 55.0))
    c.paste(portrait(face, (x1 - x0, y1 - y0), (236, 236, 240), rng), (5.0, 14.0, 37.0, 55.0))
    c.portrait_box = (x0, y0, x1, y1)
    rows = (
        ("型/Type", "P", None),
        ("発行国/Issuing country", "JPN", None),
        ("旅券番号/Passport No.", ident.document_number, "number"),
        ("姓/Surname", ident.family_romaji, "surname"),
        ("名/Given name", ident.given_romaji, "given_name"),
        ("国籍/Nationality", "JAPAN", None),
        ("生年月日/Date of birth", _icao_date(ident.birth), "birth_date"),
        ("性別/Sex", ident.sex, "sex"),
        ("本籍/Registered Domicile", ident.prefecture.upper(), None),
        ("発行年月日/Date of issue", _icao_date(ident.issue), "issue_date"),
        ("有効期間満了日/Date of expiry", _icao_date(ident.expiry), "expiry_date"),
    )
    for k, (label, value, name) in enumerate(rows):
        x, y = 41.0 + (k % 2) * 40.0, 16.0 + (k // 2) * 9.0
        c.text(x, y, label, 2.0, LABEL)
        c.text(x, y + 3.8, value, 3.2, INK, bold=True, field=name)
    c.text(81.0, 67.6, "MINISTRY OF FOREIGN AFFAIRS", 1.8, INK)
    for k, line in enumerate(mrz_lines(ident)):
        c.text(6.0, 76.0 + k * 6.0, line, 3.4, INK, spacing=2.58, field=f"mrz_{k + 1}")
