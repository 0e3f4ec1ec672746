"""Draw the app's two icons: a white shield with a tick, the product's mark.

``color.png`` is 192x192 and fully opaque: a white shield on the brand colour. ``outline.png``
is 32x32: the shield's outline and tick in white on a fully transparent background, every pixel
pure white (only its transparency varies, to smooth the edges), as Teams asks.

The PNGs are committed; this module (which needs Pillow, a development dependency) is how they
were made. Run ``.venv/bin/python -m manifest.icons`` to redraw them after changing the drawing;
a test checks the committed files are exactly what this code draws.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from manifest.build import BRAND_COLOR, ICON_SIZES, MANIFEST_DIR

Point = tuple[float, float]
Box = tuple[float, float, float, float]

WHITE = (255, 255, 255)
#: Shapes are drawn this many times larger, then averaged down, for smooth edges.
COLOR_SUPERSAMPLE = 4
OUTLINE_SUPERSAMPLE = 8
_CURVE_STEPS = 64


def _rgb(hex_color: str) -> tuple[int, int, int]:
    value = hex_color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _cubic(p0: Point, p1: Point, p2: Point, p3: Point, steps: int) -> list[Point]:
    """Points along a cubic Bezier curve, excluding ``p0``, including ``p3``."""
    points = []
    for i in range(1, steps + 1):
        t = i / steps
        u = 1 - t
        points.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return points


def shield_points(box: Box, steps: int = _CURVE_STEPS) -> list[Point]:
    """The outline of a heater shield filling ``box`` (left, top, right, bottom), clockwise.

    The top edge dips gently towards the middle, the sides run straight for a while, then curve
    in to a point at the bottom centre.
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    dip = y0 + 0.07 * h
    shoulder = y0 + 0.42 * h
    points: list[Point] = [(x0, y0)]
    points += _cubic((x0, y0), (x0 + 0.25 * w, dip), (cx - 0.1 * w, dip), (cx, dip), steps // 2)
    points += _cubic((cx, dip), (cx + 0.1 * w, dip), (x1 - 0.25 * w, dip), (x1, y0), steps // 2)
    points.append((x1, shoulder))
    points += _cubic(
        (x1, shoulder), (x1, y0 + 0.78 * h), (cx + 0.22 * w, y0 + 0.9 * h), (cx, y1), steps
    )
    points += _cubic(
        (cx, y1), (cx - 0.22 * w, y0 + 0.9 * h), (x0, y0 + 0.78 * h), (x0, shoulder), steps
    )
    return points


def tick_points(box: Box) -> list[Point]:
    """The three points of a tick centred in the shield filling ``box``."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return [
        (x0 + 0.27 * w, y0 + 0.47 * h),
        (x0 + 0.44 * w, y0 + 0.62 * h),
        (x0 + 0.74 * w, y0 + 0.33 * h),
    ]


def _scaled(points: Sequence[Point], factor: float) -> list[Point]:
    return [(x * factor, y * factor) for x, y in points]


def _draw_tick(
    draw: ImageDraw.ImageDraw,
    points: Sequence[Point],
    width: float,
    fill: int | tuple[int, int, int],
) -> None:
    """A polyline with round joints and round ends."""
    draw.line(list(points), fill=fill, width=round(width), joint="curve")
    radius = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)


def draw_color_icon() -> Image.Image:
    """The 192x192 colour icon: a white shield with a tick, on the brand colour, opaque."""
    size = ICON_SIZES["color.png"][0]
    k = COLOR_SUPERSAMPLE
    background = _rgb(BRAND_COLOR)
    image = Image.new("RGB", (size * k, size * k), background)
    draw = ImageDraw.Draw(image)
    # Teams crops the colour icon to a rounded square: keep the mark well inside it.
    box: Box = (50, 40, 142, 152)
    draw.polygon(_scaled(shield_points(box), k), fill=WHITE)
    _draw_tick(draw, _scaled(tick_points(box), k), 13 * k, background)
    return image.reduce(k)


def draw_outline_icon() -> Image.Image:
    """The 32x32 outline icon: the shield's outline and tick, white on transparent."""
    size = ICON_SIZES["outline.png"][0]
    k = OUTLINE_SUPERSAMPLE
    stroke = 2.5
    mask = Image.new("L", (size * k, size * k), 0)
    draw = ImageDraw.Draw(mask)
    box: Box = (4.5, 2.0, 27.5, 30.0)
    inner: Box = (box[0] + stroke, box[1] + stroke, box[2] - stroke, box[3] - 1.6 * stroke)
    draw.polygon(_scaled(shield_points(box), k), fill=255)
    draw.polygon(_scaled(shield_points(inner), k), fill=0)
    _draw_tick(draw, _scaled(tick_points(box), k), 2.75 * k, 255)
    image = Image.new("RGBA", (size, size), (*WHITE, 0))
    image.putalpha(mask.reduce(k))
    return image


def write_icons(directory: Path = MANIFEST_DIR) -> tuple[Path, Path]:
    """Draw both icons into ``directory``; return the paths of color.png and outline.png."""
    color = directory / "color.png"
    outline = directory / "outline.png"
    draw_color_icon().save(color, format="PNG", optimize=True)
    draw_outline_icon().save(outline, format="PNG", optimize=True)
    return color, outline


def main() -> int:
    """Redraw the committed icons in ``manifest/``; print their paths."""
    for path in write_icons():
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
