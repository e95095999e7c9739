"""First page of a PDF upload as an RGB image, via pdfium (bundled in the wheel, no services)."""

from __future__ import annotations

import threading

import numpy as np

from ekyc.config import DecodeLimits
from ekyc.errors import CorruptImage, DecompressionBomb
from ekyc.types import RGBImage

# pdfium is not thread-safe; pypdfium2 asks callers to serialise access.
_pdfium_lock = threading.Lock()
_POINTS_PER_INCH = 72.0


def render_first_page(data: bytes, limits: DecodeLimits) -> RGBImage:
    """Render page 1 so that its longer side is at most ``limits.pdf_render_max_side``."""
    import pypdfium2 as pdfium

    with _pdfium_lock:
        pdf = pdfium.PdfDocument(data)
        try:
            if len(pdf) < 1:
                raise CorruptImage("the PDF has no pages")
            page = pdf[0]
            try:
                width_pt, height_pt = page.get_size()
                if not (width_pt > 0 and height_pt > 0):
                    raise CorruptImage(f"the PDF page declares {width_pt}x{height_pt} points")
                scale = min(
                    limits.pdf_render_max_side / max(width_pt, height_pt), 300 / _POINTS_PER_INCH
                )
                out_w, out_h = round(width_pt * scale), round(height_pt * scale)
                if out_w * out_h > limits.max_pixels:
                    raise DecompressionBomb(
                        f"the PDF page would render to {out_w}x{out_h} pixels",
                        width=out_w,
                        height=out_h,
                        max_pixels=limits.max_pixels,
                    )
                # rev_byteorder: RGB order instead of pdfium's native BGR.
                bitmap = page.render(
                    scale=scale, fill_color=(255, 255, 255, 255), rev_byteorder=True
                )
                try:
                    rgb = np.array(bitmap.to_numpy()[:, :, :3], dtype=np.uint8, copy=True)
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            pdf.close()
    return np.ascontiguousarray(rgb)
