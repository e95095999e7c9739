"""Residence card (在留カード) layouts: Latin-script name, status of residence, portrait right."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from benchmarks.synth.identity import Identity
from benchmarks.synth.layout_common import Canvas, gradient_paper, portrait, seal
from benchmarks.synth.text import western_date

INK = (30, 30, 45)
LABEL = (70, 70, 95)


def _expiry(ident: Identity) -> dt.date:
    if ident.expiry is None:
        raise ValueError("a residence card needs an expiry date")
    return ident.expiry


def draw_front(
    c: Canvas, ident: Identity, face: npt.NDArray[np.uint8], rng: np.random.Generator
) -> None:
    gradient_paper(c, (232, 236, 250), (246, 232, 240), rng, lines=(214, 220, 240), n_lines=28)
    expiry = _expiry(ident)
    c.text(3.0, 6.6, "在留カード", 3.4, (40, 40, 120), bold=True)
    c.text(47.0, 6.4, "番号", 2.0, LABEL)
    c.text(53.0, 6.6, ident.document_number, 3.2, (170, 30, 40), bold=True, field="number")
    c.text(3.0, 12.4, "氏名", 2.0, LABEL)
    c.text(10.0, 12.6, ident.name, 3.4, INK, bold=True, field="name")
    c.text(3.0, 17.0, "生年月日", 1.8, LABEL)
    c.text(12.0, 17.0, western_date(ident.birth), 2.3, INK, field="birth_date")
    c.text(35.0, 17.0, "性別", 1.8, LABEL)
    c.text(40.0, 17.0, "男 M." if ident.sex == "M" else "女 F.", 2.3, INK, field="sex")
    c.text(3.0, 21.0, "国籍・地域", 1.8, LABEL)
    c.text(14.0, 21.0, ident.nationality, 2.3, INK, field="nationality")
    c.text(3.0, 25.2, "住居地", 1.8, LABEL)
    c.text(11.0, 25.2, ident.address, 2.0, INK, field="address")
    c.box((2.6, 27.0, 60.0, 35.6), LABEL, width=0.15)
    c.text(3.4, 30.4, "在留資格", 1.8, LABEL)
    c.text(13.0, 30.8, ident.status, 2.8, INK, bold=True, field="status")
    c.text(3.4, 34.4, "就労制限の有無", 1.6, LABEL)
    c.text(
        17.0,
        34.6,
        "就労制限なし" if ident.status == "永住者" else "在留資格に基づく就労活動のみ可",
        2.0,
        INK,
    )
    years = max(1, round((expiry - ident.issue).days / 365))
    c.text(3.0, 39.2, "在留期間(満了日)", 1.7, LABEL)
    c.text(19.0, 39.4, f"{years}年（{western_date(expiry)}）", 2.3, INK, field="period")
    c.text(3.0, 43.0, "許可の種類", 1.6, LABEL)
    c.text(13.0, 43.0, "在留期間更新許可（東京出入国在留管理局長）", 1.7, INK)
    c.text(3.0, 46.6, "許可年月日", 1.6, LABEL)
    c.text(13.0, 46.6, western_date(ident.issue), 1.9, INK)
    c.text(35.0, 46.6, "交付年月日", 1.6, LABEL)
    c.text(45.0, 46.6, western_date(ident.issue), 1.9, INK, field="issue_date")
    c.box((2.6, 48.2, 72.0, 52.2), None, fill=(214, 222, 246))
    c.text(
        4.0,
        51.2,
        f"このカードは　{western_date(expiry)}　まで有効　です。",
        2.2,
        INK,
        bold=True,
        field="expiry_date",
    )
    x0, y0, x1, y1 = c.rect_px((62.0, 9.0, 83.0, 36.0))
    c.paste(portrait(face, (x1 - x0, y1 - y0), (222, 226, 236), rng), (62.0, 9.0, 83.0, 36.0))
    c.portrait_box = (x0, y0, x1, y1)
    c.text(64.0, 41.0, "法務大臣", 2.4, INK)
    seal(c, 78.4, 42.6, 5.0, "法務大臣", (200, 70, 60))


def draw_back(
    c: Canvas, ident: Identity, face: npt.NDArray[np.uint8] | None, rng: np.random.Generator
) -> None:
    del face
    gradient_paper(c, (240, 242, 250), (246, 240, 246), rng, lines=(226, 228, 240), n_lines=18)
    c.box((2.6, 2.6, 83.0, 27.0), LABEL, width=0.15)
    c.text(4.0, 5.6, "住居地記載欄", 2.0, LABEL, bold=True)
    for x in (20.0, 68.0):
        c.line(x, 6.6, x, 27.0, LABEL, 0.12)
    c.line(2.6, 6.6, 83.0, 6.6, LABEL, 0.12)
    c.text(5.0, 9.2, "届出年月日", 1.7, LABEL)
    c.text(40.0, 9.2, "住居地", 1.7, LABEL)
    c.text(71.0, 9.2, "記載者印", 1.7, LABEL)
    for k in range(1, 5):
        c.line(2.6, 6.6 + k * 4.1, 83.0, 6.6 + k * 4.1, (170, 170, 190), 0.1)
    if rng.random() < 0.6:
        moved = ident.issue + dt.timedelta(days=int(rng.integers(30, 500)))
        c.text(3.4, 13.6, western_date(moved), 1.8, INK)
        c.text(21.0, 13.6, ident.address, 1.8, INK, field="address_update")
        seal(c, 75.5, 12.7, 3.4, "区長", (200, 70, 60))
    c.box((2.6, 29.0, 83.0, 40.0), LABEL, width=0.15)
    c.text(4.0, 32.0, "資格外活動許可欄", 2.0, LABEL, bold=True)
    c.box((2.6, 42.0, 83.0, 52.0), LABEL, width=0.15)
    c.text(4.0, 45.0, "在留期間更新等許可申請欄", 2.0, LABEL, bold=True)
