"""The digest chart: daily messages (bars) and DMARC pass rate (line), as a PNG.

Drawn with Pillow on an in-memory image: no display, no GUI toolkit, no numpy.
The image is drawn at twice its display size so it stays sharp on dense screens;
the HTML shows it at :data:`DISPLAY_WIDTH` pixels.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from functools import cache

from dmarc_audit.digest.figures import DayFigures

DISPLAY_WIDTH = 600
DISPLAY_HEIGHT = 220
SCALE = 2

BACKGROUND = (255, 255, 255)
GRID = (226, 230, 235)
AXIS_TEXT = (87, 96, 106)
TITLE_TEXT = (31, 35, 40)
BAR = (160, 184, 214)
LINE = (26, 127, 55)
LOW = (207, 34, 46)
"""Pass-rate points below :data:`GOOD_RATE` are drawn in this colour."""
GOOD_RATE = 0.98


@cache
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def render_chart(domain: str, days: Sequence[DayFigures]) -> bytes:
    """A PNG of ``days``: bars for messages on the left axis, the pass rate on the right."""
    from PIL import Image, ImageDraw

    s = SCALE
    width, height = DISPLAY_WIDTH * s, DISPLAY_HEIGHT * s
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    small, title = _font(11 * s), _font(13 * s)
    left, right, top, bottom = 52 * s, 46 * s, 34 * s, 30 * s
    plot_w, plot_h = width - left - right, height - top - bottom
    x0, y0 = left, top + plot_h  # bottom-left corner of the plot

    draw.text(
        (left, 8 * s),
        f"{domain}: messages per day (bars), DMARC pass (line)",
        font=title,
        fill=TITLE_TEXT,
    )

    peak = _nice_ceiling(max((d.messages for d in days), default=0))
    rates = [d.pass_rate for d in days if d.pass_rate is not None]
    low = _rate_floor(min(rates)) if rates else 0.0

    for i in range(5):  # grid and axis labels
        y = y0 - plot_h * i / 4
        draw.line([(x0, y), (x0 + plot_w, y)], fill=GRID, width=s)
        count = peak * i / 4
        _text_right(draw, (x0 - 6 * s, y), _short(count), small)
        rate = low + (1 - low) * i / 4
        draw.text(
            (x0 + plot_w + 6 * s, y - 7 * s), f"{rate * 100:.4g}%", font=small, fill=AXIS_TEXT
        )

    n = max(len(days), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.6, s)
    label_every = max(1, math.ceil(n / 10))
    points: list[tuple[int, float, float, float]] = []
    for i, day in enumerate(days):
        cx = x0 + slot * (i + 0.5)
        if day.messages and peak:
            h = plot_h * day.messages / peak
            draw.rectangle([cx - bar_w / 2, y0 - h, cx + bar_w / 2, y0], fill=BAR)
        if i % label_every == 0:
            label = day.day.strftime("%m-%d")
            tw = draw.textlength(label, font=small)
            draw.text((cx - tw / 2, y0 + 6 * s), label, font=small, fill=AXIS_TEXT)
        day_rate = day.pass_rate
        if day_rate is not None:
            points.append((i, cx, y0 - plot_h * (day_rate - low) / (1 - low), day_rate))

    for (ia, xa, ya, _), (ib, xb, yb, _) in itertools.pairwise(points):
        if ib == ia + 1:  # a day without reports breaks the line
            draw.line([(xa, ya), (xb, yb)], fill=LINE, width=2 * s)
    r = 3 * s
    for _, x, y, rate in points:
        colour = LINE if rate >= GOOD_RATE else LOW
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    if not points:
        _text_center(draw, (x0 + plot_w / 2, top + plot_h / 2), "no reports in this period", small)

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _nice_ceiling(value: float) -> float:
    """The top of the count axis: four ticks of a round step (1, 1.5, 2, 2.5, 3, 4, 5, 6
    or 8 times a power of ten), at least ``value``."""
    if value <= 0:
        return 4
    tick = value / 4
    power = 10 ** math.floor(math.log10(tick))
    step = next(m for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if tick <= m * power + 1e-9)
    return max(4 * step * power, 4)


def _rate_floor(lowest: float) -> float:
    """The bottom of the rate axis: 90% or lower in steps of 10, so small dips show."""
    return min(0.9, math.floor(lowest * 10) / 10)


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _text_right(draw, anchor: tuple[float, float], text: str, font) -> None:
    x, y = anchor
    draw.text(
        (x - draw.textlength(text, font=font), y - 7 * SCALE), text, font=font, fill=AXIS_TEXT
    )


def _text_center(draw, anchor: tuple[float, float], text: str, font) -> None:
    x, y = anchor
    draw.text((x - draw.textlength(text, font=font) / 2, y), text, font=font, fill=AXIS_TEXT)
