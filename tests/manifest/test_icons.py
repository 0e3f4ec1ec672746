"""The committed icons are exactly what manifest/icons.py draws, and what Teams asks for."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from manifest.build import COLOR_ICON_PATH, OUTLINE_ICON_PATH, png_size
from manifest.icons import draw_color_icon, draw_outline_icon, write_icons


def _open(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


def _same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return (a.mode, a.size) == (b.mode, b.size) and a.tobytes() == b.tobytes()


def test_the_committed_icons_are_what_icons_py_draws(tmp_path: Path) -> None:
    color, outline = write_icons(tmp_path)
    assert _same_pixels(_open(COLOR_ICON_PATH), _open(color))
    assert _same_pixels(_open(OUTLINE_ICON_PATH), _open(outline))
    assert _same_pixels(_open(COLOR_ICON_PATH), draw_color_icon())
    assert _same_pixels(_open(OUTLINE_ICON_PATH), draw_outline_icon())


def test_the_colour_icon_is_an_opaque_192_square_with_a_white_mark() -> None:
    image = _open(COLOR_ICON_PATH)
    assert (image.format, image.size, image.mode) == ("PNG", (192, 192), "RGB")
    colours = image.getcolors(maxcolors=192 * 192)
    assert colours is not None
    counts = {colour: count for count, colour in colours}
    assert counts[(255, 255, 255)] > 192 * 192 // 10  # the white shield
    assert image.getpixel((0, 0)) == (0x1D, 0x5C, 0x7A)  # on the brand colour


def test_the_outline_icon_is_white_on_transparent_only() -> None:
    image = _open(OUTLINE_ICON_PATH)
    assert (image.format, image.size, image.mode) == ("PNG", (32, 32), "RGBA")
    raw = image.tobytes()
    assert {raw[i : i + 3] for i in range(0, len(raw), 4)} == {b"\xff\xff\xff"}
    assert image.getchannel("A").getextrema() == (0, 255)


def test_the_build_reads_png_sizes_without_pillow() -> None:
    assert png_size(COLOR_ICON_PATH.read_bytes()) == (192, 192)
    assert png_size(OUTLINE_ICON_PATH.read_bytes()) == (32, 32)
    assert png_size(b"GIF89a not a png at all") is None
