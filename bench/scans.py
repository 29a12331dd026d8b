"""Page images of Chinese text, clean or degraded like a scan, for OCR tests and benchmarks.

A page is set in Noto Sans CJK (Debian fonts-noto-cjk) the way a printed document is:
paragraphs with a two-character first-line indent, wrapped at the right margin. A scan
is then imitated: turned by a small angle, blurred, and speckled with dark and light dots.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_INDEX = 2  # Noto Sans CJK SC inside the collection
A4_MM = (210, 297)


def font(px: int) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC at ``px`` pixels."""
    return ImageFont.truetype(str(CJK_FONT), px, index=SC_INDEX)


def wrap(paragraph: str, face: ImageFont.FreeTypeFont, width: float, indent: float) -> list[str]:
    """Printed lines of a paragraph: the first indented, each filled to ``width``."""
    lines: list[str] = []
    current = ""
    limit = width - indent
    for ch in paragraph:
        if current and face.getlength(current + ch) > limit:
            lines.append(current)
            current, limit = "", width
        current += ch
    if current:
        lines.append(current)
    return lines


def render_pages(
    paragraphs: Sequence[str],
    dpi: int = 300,
    point_size: float = 14,
    footer: str | None = None,
    page_mm: tuple[float, float] = A4_MM,
    centre_first: bool = False,
    margins_mm: tuple[float, float] = (28, 30),
) -> list[tuple[Image.Image, list[str]]]:
    """Pages (A4 unless ``page_mm``) at ``dpi`` holding ``paragraphs``, each with its text.

    ``footer`` is drawn small at the foot of each page (a scanner app's stamp);
    ``centre_first`` sets the first paragraph as a centred title.
    """
    width_px, height_px = (round(mm / 25.4 * dpi) for mm in page_mm)
    size = round(point_size / 72 * dpi)
    face = font(size)
    margin_x, margin_y = (round(mm / 25.4 * dpi) for mm in margins_mm)
    pitch = round(size * 1.6)
    pages: list[tuple[Image.Image, list[str]]] = []
    image = draw = None
    y = 0
    texts: list[str] = []

    def new_page() -> None:
        nonlocal image, draw, y, texts
        if image is not None:
            pages.append((image, texts))
        image = Image.new("RGB", (width_px, height_px), "white")
        draw = ImageDraw.Draw(image)
        if footer:
            small = font(round(size * 0.6))
            draw.text(
                (width_px - margin_x - small.getlength(footer), height_px - margin_y // 2),
                footer,
                fill=(90, 90, 90),
                font=small,
            )
        y = margin_y
        texts = []

    new_page()
    for number, paragraph in enumerate(paragraphs):
        if number == 0 and centre_first:
            draw.text(
                ((width_px - face.getlength(paragraph)) / 2, y), paragraph, fill="black", font=face
            )  # type: ignore[union-attr]
            texts.append(paragraph)
            y += 2 * pitch
            continue
        lines = wrap(paragraph, face, width_px - 2 * margin_x, 2 * size)
        for i, line in enumerate(lines):
            if y + pitch > height_px - margin_y:
                new_page()
            x = margin_x + (2 * size if i == 0 else 0)
            draw.text((x, y), line, fill="black", font=face)  # type: ignore[union-attr]
            if i == 0 or not texts:
                texts.append(line)
            else:
                texts[-1] += line
            y += pitch
    pages.append((image, texts))  # type: ignore[arg-type]
    return pages


def degrade(
    image: Image.Image,
    angle: float = 0.7,
    blur: float = 1.0,
    speckle: float = 0.0005,
    seed: int = 7,
) -> Image.Image:
    """Make a clean page look scanned: turned by ``angle`` degrees, blurred, speckled."""
    out = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor="white")
    if blur:
        out = out.filter(ImageFilter.GaussianBlur(blur))
    if speckle:
        rng = random.Random(seed)
        pixels = out.load()
        w, h = out.size
        for _ in range(int(w * h * speckle)):
            x, y = rng.randrange(w), rng.randrange(h)
            shade = rng.choice((0, 60, 255))
            for dx in range(2):
                for dy in range(2):
                    if x + dx < w and y + dy < h:
                        pixels[x + dx, y + dy] = (shade, shade, shade)
    return out
