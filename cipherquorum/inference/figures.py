"""An SVG of a few digits beside what the model owner rebuilt from each k's intermediate."""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

from cipherquorum.inference.data import IMAGE_SHAPE, PIXEL_MAX

CELL_PX = 6
GAP_PX = 8
LABEL_PX = 150


def reconstruction_svg(originals: np.ndarray, rows: Sequence[tuple[str, np.ndarray]], title: str) -> str:
    """An SVG grid: the original images (pixels 0..16, images x 64) on the first row, then one row per
    (label, rebuilt images) pair, each image drawn as 8x8 grey cells (black 0, white 16)."""
    side = IMAGE_SHAPE[0] * CELL_PX
    count = len(originals)
    all_rows = [("original", originals), *rows]
    width = LABEL_PX + count * (side + GAP_PX)
    height = 30 + len(all_rows) * (side + GAP_PX)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
             f'<text x="4" y="16" font-family="sans-serif" font-size="13">{escape(title)}</text>']
    for r, (label, images) in enumerate(all_rows):
        top = 30 + r * (side + GAP_PX)
        parts.append(f'<text x="4" y="{top + side // 2 + 4}" font-family="sans-serif" font-size="11">'
                     f"{escape(label)}</text>")
        for i, image in enumerate(images[:count]):
            left = LABEL_PX + i * (side + GAP_PX)
            pixels = np.clip(np.asarray(image, dtype=np.float64).reshape(IMAGE_SHAPE), 0, PIXEL_MAX)
            for y in range(IMAGE_SHAPE[0]):
                for x in range(IMAGE_SHAPE[1]):
                    grey = round(255 * pixels[y, x] / PIXEL_MAX)
                    parts.append(f'<rect x="{left + x * CELL_PX}" y="{top + y * CELL_PX}" width="{CELL_PX}" '
                                 f'height="{CELL_PX}" fill="rgb({grey},{grey},{grey})"/>')
    parts.append("</svg>")
    return "\n".join(parts)
