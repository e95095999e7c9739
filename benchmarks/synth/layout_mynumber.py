"""My Number card (個人番号カード) layouts: portrait left on the front; number, code on the back."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from benchmarks.synth.identity import Identity
from benchmarks.synth.layout_common import Canvas, chip, gradient_paper, portrait, qr_like
from benchmarks.synth.text import era_date, western_date

INK = (35, 30, 30)
LABEL = (60, 50, 50)


def _paper(c: Canvas, rng: np.random.Generator) -> None:
    gradient_paper(c, (250, 236, 236), (245, 240, 222), rng, lines=(238, 218, 200), n_lines=30)


def draw_front(
    c: Canvas, ident: Identity, face: npt.NDArray[np.uint8], rng: np.random.Generator
) -> None:
    _paper(c, rng)
    c.text(2.4, 6.6, "氏名", 2.2, LABEL, bold=True)
    c.text(9.4, 7.0, ident.name, 3.6, INK, field="name")
    c.text(2.4, 12.0, "住所", 2.2, LABEL, bold=True)
    c.text(9.4, 12.2, ident.address, 2.6, INK, field="address")
    c.text(66.5, 16.0, "性別", 2.1, LABEL, bold=True)
    c.text(73.0, 16.2, "男" if ident.sex == "M" else "女", 2.8, INK, field="sex")
    c.text(29.0, 21.4, era_date(ident.birth, zero_pad=False) + "生", 2.5, INK, field="birth_date")
    if ident.expiry is None:
        raise ValueError("this document needs an expiry date")
    c.text(56.0, 21.4, western_date(ident.expiry) + "まで有効", 2.3, INK, field="expiry_date")
    c.text(
        30.0,
        26.6,
        ident.address[: ident.address.index("区") + 1 if "区" in ident.address else 6].replace(
            ident.prefecture, ""
        )
        + "長",
        2.3,
        INK,
        field="issuer",
    )
    c.box((54.0, 23.4, 66.6, 28.6), None, fill=(70, 70, 70))
    c.text(60.3, 25.6, "電子証明書の", 1.35, (255, 255, 255), anchor="ms")
    c.text(60.3, 27.8, "有効期限", 1.35, (255, 255, 255), anchor="ms")
    c.text(67.4, 27.4, "　年　　月　　日", 2.0, INK)
    c.box((30.5, 29.6, 82.0, 41.8), (150, 150, 150), width=0.15, fill=(232, 228, 228))
    for k in range(1, 6):
        c.line(30.5, 29.6 + k * 2.03, 82.0, 29.6 + k * 2.03, (205, 200, 200), 0.1)
    c.text(
        30.5,
        44.4,
        "●臓器提供意思【１脳死後及び心停止した死後／２心停止した死後のみ／３提供せず】",
        1.35,
        INK,
    )
    c.text(
        30.5,
        46.6,
        "《１・２で提供したくない臓器があれば×》【心臓・肺・肝臓・腎臓・膵臓・小腸・眼球】",
        1.35,
        INK,
    )
    c.text(30.5, 49.6, "署名年月日　　年　　月　　日　　署名", 1.6, INK)
    c.text(2.4, 51.4, "".join(rng.choice(list("0123456789ABCDEF"), 16)), 1.4, INK)
    c.text(21.0, 51.6, f"{int(rng.integers(1000, 9999))}", 2.2, INK, bold=True)
    x0, y0, x1, y1 = c.rect_px((2.4, 18.2, 24.8, 46.2))
    c.paste(portrait(face, (x1 - x0, y1 - y0), (168, 200, 232), rng), (2.4, 18.2, 24.8, 46.2))
    c.portrait_box = (x0, y0, x1, y1)
    c.box((73.6, 1.8, 83.6, 12.8), (120, 120, 120), width=0.15, fill=(255, 255, 255), radius=1.6)
    c.draw.ellipse(
        c.rect_px((76.8, 2.6, 80.4, 6.2)), outline=(200, 80, 90), width=max(1, c.px(0.3))
    )
    c.text(78.6, 9.0, "個人番号", 1.7, INK, bold=True, anchor="ms")
    c.text(78.6, 11.6, "カード", 1.7, INK, bold=True, anchor="ms")


def draw_back(
    c: Canvas, ident: Identity, face: npt.NDArray[np.uint8] | None, rng: np.random.Generator
) -> None:
    """The back: the (synthetic) individual number, name, birth date, chip and a 2-D code."""
    del face
    gradient_paper(c, (247, 243, 238), (240, 236, 230), rng, lines=(232, 224, 214), n_lines=20)
    c.text(4.0, 8.4, "個人番号", 2.3, LABEL, bold=True)
    num = ident.document_number
    c.text(
        18.0,
        9.4,
        f"{num[:4]} {num[4:8]} {num[8:]}",
        4.6,
        INK,
        bold=True,
        spacing=2.9,
        field="individual_number",
    )
    c.text(4.0, 15.8, "氏名", 2.1, LABEL, bold=True)
    c.text(11.0, 16.0, ident.name, 2.8, INK, field="name")
    c.text(4.0, 20.6, "生年月日", 2.1, LABEL, bold=True)
    c.text(14.0, 20.8, era_date(ident.birth, zero_pad=False) + "生", 2.5, INK, field="birth_date")
    chip(c, (9.0, 25.0, 20.6, 34.0))
    code = qr_like(rng)
    c.paste(np.repeat(code[..., None], 3, axis=2), (60.0, 16.0, 81.0, 37.0))
    c.box((2.6, 44.0, 83.0, 51.8), (170, 160, 160), width=0.12)
    c.text(
        4.0,
        47.2,
        "この個人番号カードを拾得された方は、お近くの郵便ポストに投函してください。",
        1.5,
        LABEL,
    )
    c.text(4.0, 50.0, "地方公共団体情報システム機構", 1.5, LABEL)
