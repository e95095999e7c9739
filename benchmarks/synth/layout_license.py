"""Japanese driver's licence (運転免許証) layouts, drawn after the public specimen's structure."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from benchmarks.synth.identity import Identity
from benchmarks.synth.layout_common import Canvas, gradient_paper, portrait, seal
from benchmarks.synth.text import era_date

INK = (30, 30, 30)
LABEL = (70, 70, 70)
RULE = (90, 90, 90)
BANDS = {"green": (104, 178, 104), "blue": (96, 150, 212), "gold": (212, 178, 92)}
_CLASSES = (
    ("大型", "中型", "準中", "普通", "大特", "大自二"),
    ("普自二", "小特", "原付", "大二", "中二", "普二"),
)
_CONDITIONS = ("", "眼鏡等", "ＡＴ車に限る", "眼鏡等　ＡＴ車に限る")


def _paper(c: Canvas, rng: np.random.Generator) -> None:
    gradient_paper(c, (246, 247, 240), (234, 240, 232), rng, lines=(224, 232, 224))


def draw_front(
    c: Canvas, ident: Identity, face: npt.NDArray[np.uint8], rng: np.random.Generator
) -> None:
    _paper(c, rng)
    c.box((2.6, 2.4, 83.0, 8.8), RULE, radius=1.4)
    c.line(10.2, 2.4, 10.2, 8.8, RULE)
    c.line(55.0, 2.4, 55.0, 8.8, RULE)
    c.text(3.6, 6.8, "氏名", 2.3, LABEL)
    c.text(12.0, 7.3, ident.name, 3.7, INK, bold=True, field="name")
    c.text(56.2, 7.0, era_date(ident.birth) + "生", 2.5, INK, field="birth_date")
    c.box((2.6, 10.2, 83.0, 14.6), RULE, radius=1.0)
    c.line(10.2, 10.2, 10.2, 14.6, RULE)
    c.text(3.6, 13.6, "住所", 2.3, LABEL)
    c.text(12.0, 13.7, ident.address, 2.7, INK, field="address")
    c.box((2.6, 14.6, 57.0, 18.7), RULE)
    c.line(10.2, 14.6, 10.2, 18.7, RULE)
    c.text(3.6, 17.7, "交付", 2.3, LABEL)
    c.text(12.0, 17.8, era_date(ident.issue), 2.6, INK, field="issue_date")
    c.text(42.0, 17.8, f"{int(rng.integers(10000, 99999))}", 2.6, INK)
    if ident.expiry is None:
        raise ValueError("this document needs an expiry date")
    c.box((2.6, 18.9, 54.0, 23.9), None, fill=BANDS[ident.band])
    c.text(6.0, 22.8, era_date(ident.expiry) + "まで有効", 3.6, INK, bold=True, field="expiry_date")
    c.text(3.4, 27.6, "免許の", 1.9, LABEL)
    c.text(3.4, 30.2, "条件等", 1.9, LABEL)
    c.text(12.0, 29.2, str(rng.choice(_CONDITIONS)), 2.8, INK, field="conditions")
    c.text(3.4, 40.6, "番号", 1.9, LABEL)
    c.text(11.5, 40.8, "第", 2.8, INK)
    c.text(16.0, 41.2, ident.document_number, 4.2, INK, bold=True, spacing=2.75, field="number")
    c.text(50.0, 40.8, "号", 2.8, INK)
    _dates_table(c, ident, rng)
    _classes_grid(c, rng)
    c.vtext(55.6, 19.6, "運転免許証", 3.3, (45, 95, 165), 4.3)
    x0, y0, x1, y1 = c.rect_px((58.0, 16.8, 82.6, 46.4))
    c.paste(portrait(face, (x1 - x0, y1 - y0), (176, 196, 214), rng), (58.0, 16.8, 82.6, 46.4))
    c.portrait_box = (x0, y0, x1, y1)
    c.text(58.6, 50.6, f"{ident.prefecture}公安委員会", 2.3, (200, 70, 50), field="issuer")
    seal(c, 79.6, 49.4, 5.2, "公安委員", (205, 85, 70))


def _dates_table(c: Canvas, ident: Identity, rng: np.random.Generator) -> None:
    c.box((2.6, 42.6, 30.6, 52.2), RULE)
    c.line(9.4, 42.6, 9.4, 52.2, RULE)
    first = dt.date(ident.birth.year + 18 + int(rng.integers(0, 8)), int(rng.integers(1, 13)), 1)
    for row, label in enumerate(("二・小・原", "他", "二種")):
        y = 42.6 + row * 3.2
        c.line(2.6, y, 30.6, y, RULE)
        c.text(3.1 if row == 0 else 5.0, y + 2.3, label, 1.3 if row == 0 else 1.7, LABEL)
        if row < 2:
            c.text(
                10.0,
                y + 2.6,
                era_date(first if row == 0 else first.replace(year=first.year + 2)),
                2.1,
                INK,
            )


def _classes_grid(c: Canvas, rng: np.random.Generator) -> None:
    c.box((31.2, 42.6, 57.0, 52.2), RULE)
    c.line(34.4, 42.6, 34.4, 52.2, RULE)
    c.text(32.0, 46.6, "種", 1.9, LABEL)
    c.text(32.0, 50.6, "類", 1.9, LABEL)
    held = rng.random((2, 6)) < 0.35
    held[0, 3] = True
    cell = (57.0 - 34.4) / 6
    for r, names in enumerate(_CLASSES):
        for k, name in enumerate(names):
            x, y = 34.4 + k * cell, 42.6 + r * 4.8
            c.box((x, y, x + cell, y + 4.8), RULE, width=0.12)
            label = name if held[r, k] else "ー"
            c.text(x + cell / 2, y + 3.3, label, 1.5 if len(label) > 2 else 1.9, INK, anchor="ms")


def draw_back(
    c: Canvas, ident: Identity, face: npt.NDArray[np.uint8] | None, rng: np.random.Generator
) -> None:
    del face
    _paper(c, rng)
    c.box((2.6, 2.6, 83.0, 35.6), RULE, radius=1.2)
    c.line(9.0, 2.6, 9.0, 35.6, RULE)
    c.vtext(5.8, 9.0, "備考", 2.6, LABEL, 6.0)
    for k in range(1, 6):
        c.line(9.0, 2.6 + k * 5.5, 83.0, 2.6 + k * 5.5, (150, 150, 150), 0.12)
    n_entries = int(rng.integers(0, 3))
    for k in range(n_entries):
        day = ident.issue + dt.timedelta(days=int(rng.integers(30, 300)) * (k + 1))
        entry = f"{era_date(day)}　住所変更　{ident.prefecture}"
        c.text(10.5, 2.6 + k * 5.5 + 4.2, entry, 2.3, (40, 40, 110), field=f"remarks_{k}")
        seal(c, 78.5, 2.6 + k * 5.5 + 2.75, 4.4, "公安委員", (205, 85, 70))
    c.text(10.5, 2.6 + 5 * 5.5 + 4.2, "臨時記載欄", 1.9, LABEL)
    c.box((2.6, 37.2, 83.0, 52.0), RULE, radius=1.0)
    lines = (
        "以下の部分を使用して臓器提供に関する意思を表示することができます（記入は自由です。）",
        "１．私は、脳死後及び心臓が停止した死後のいずれでも、移植の為に臓器を提供します。",
        "２．私は、心臓が停止した死後に限り、移植の為に臓器を提供します。",
        "３．私は、臓器を提供しません。",
        "《１又は２を選んだ方で、提供したくない臓器があれば、×をつけてください。》",
        "署名年月日：　　年　　月　　日　　本人署名　　　　　　　　家族署名",
    )
    for k, s in enumerate(lines):
        c.text(4.0, 40.0 + k * 2.2, s, 1.45, (60, 60, 60))
