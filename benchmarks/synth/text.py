"""Japanese text for synthetic cards: the CJK font, era dates and a small drawing helper."""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import subprocess
from pathlib import Path

from PIL import ImageFont

_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/System/Library/Fonts",
    "/Library/Fonts",
)
_FONT_NAMES = {
    False: ("NotoSansCJK-Regular.ttc", "NotoSansCJKjp-Regular.otf", "NotoSansJP-Regular.otf"),
    True: ("NotoSansCJK-Bold.ttc", "NotoSansCJKjp-Bold.otf", "NotoSansJP-Bold.otf"),
}


class FontNotFoundError(RuntimeError):
    """No Noto Sans CJK font was found; the synthetic cards cannot draw Japanese text."""


def _search_dirs(names: tuple[str, ...]) -> Path | None:
    for root in _FONT_DIRS:
        base = Path(root).expanduser()
        if not base.is_dir():
            continue
        for name in names:
            hits = sorted(base.rglob(name))
            if hits:
                return hits[0]
    return None


def _search_fc_list(bold: bool) -> Path | None:
    exe = shutil.which("fc-list")
    if exe is None:
        return None
    style = "Bold" if bold else "Regular"
    out = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [exe, ":lang=ja", "file", "style"], capture_output=True, text=True, check=False, timeout=10
    ).stdout
    for line in sorted(out.splitlines()):
        path = line.split(":")[0].strip()
        if "CJK" in path and "Sans" in path and style in line:
            return Path(path)
    return None


@functools.cache
def find_cjk_font(bold: bool = False) -> Path:
    """Locate Noto Sans CJK (JP) on this machine; ``EKYC_SYNTH_FONT`` overrides the search.

    Raises:
        FontNotFoundError: with an installation hint when no font is found.
    """
    override = os.environ.get("EKYC_SYNTH_FONT_BOLD" if bold else "EKYC_SYNTH_FONT")
    if override and Path(override).is_file():
        return Path(override)
    found = _search_dirs(_FONT_NAMES[bold]) or _search_fc_list(bold)
    if found is None and bold:
        return find_cjk_font(bold=False)
    if found is None:
        raise FontNotFoundError(
            "Noto Sans CJK not found (looked in "
            + ", ".join(_FONT_DIRS)
            + " and fc-list). Install it (Debian/Ubuntu: apt-get install fonts-noto-cjk) "
            "or set EKYC_SYNTH_FONT to a .ttc/.otf file."
        )
    return found


@functools.cache
def _jp_index(path: Path) -> int:
    """Index of the Japanese face inside a .ttc collection (0 for single fonts)."""
    if path.suffix.lower() != ".ttc":
        return 0
    for index in range(10):
        try:
            name = ImageFont.truetype(str(path), 12, index=index).getname()[0]
        except OSError:
            break
        if name and name.endswith(" JP"):
            return index
    return 0


@functools.cache
def font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The Japanese CJK font at ``size_px`` (cached)."""
    path = find_cjk_font(bold)
    return ImageFont.truetype(str(path), max(4, int(size_px)), index=_jp_index(path))


_ERAS = (
    ("令和", dt.date(2019, 5, 1)),
    ("平成", dt.date(1989, 1, 8)),
    ("昭和", dt.date(1926, 12, 25)),
)


def era_year(day: dt.date) -> tuple[str, int]:
    """Japanese era name and year number of ``day`` (昭和, 平成 or 令和)."""
    for name, start in _ERAS:
        if day >= start:
            return name, day.year - start.year + 1
    raise ValueError(f"dates before 昭和 are not supported, got {day.isoformat()}")


def era_date(day: dt.date, zero_pad: bool = True) -> str:
    """``令和07年05月01日`` (zero padded, licence style) or ``令和 7年 5月 1日``."""
    era, year = era_year(day)
    if zero_pad:
        return f"{era}{year:02d}年{day.month:02d}月{day.day:02d}日"
    return f"{era}{year:2d}年{day.month:2d}月{day.day:2d}日"


def western_date(day: dt.date) -> str:
    """``2031年05月07日``."""
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"
