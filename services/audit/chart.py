"""A bar chart of daily downloads, free and paid stacked, as a PNG drawn with Pillow."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 900, 360
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 20, 40, 48
FREE_COLOUR = (120, 170, 220)
PAID_COLOUR = (230, 140, 60)
AXIS_COLOUR = (60, 60, 60)
GRID_COLOUR = (225, 225, 225)


def daily_downloads_png(daily: list[dict], *, title: str) -> bytes:
    """Draw `daily` (dicts with `date`, `free`, `paid`) as stacked bars; return PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()

    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    bottom = MARGIN_TOP + plot_height
    peak = max([day["free"] + day["paid"] for day in daily] + [1])
    scale = plot_height / peak

    # Four grid lines, labelled with whole download counts.
    for step in range(5):
        value = round(peak * step / 4)
        y = bottom - value * scale
        draw.line([(MARGIN_LEFT, y), (WIDTH - MARGIN_RIGHT, y)], fill=GRID_COLOUR)
        draw.text((8, y - 6), str(value), fill=AXIS_COLOUR, font=font)

    slot = plot_width / max(len(daily), 1)
    bar = max(slot * 0.7, 1)
    for index, day in enumerate(daily):
        left = MARGIN_LEFT + index * slot + (slot - bar) / 2
        free_top = bottom - day["free"] * scale
        paid_top = free_top - day["paid"] * scale
        if day["free"]:
            draw.rectangle([left, free_top, left + bar, bottom], fill=FREE_COLOUR)
        if day["paid"]:
            draw.rectangle([left, paid_top, left + bar, free_top], fill=PAID_COLOUR)
        # Label every other day, by day of month, so the labels do not overlap.
        if index % 2 == 0:
            draw.text((left, bottom + 6), day["date"][8:10], fill=AXIS_COLOUR, font=font)

    draw.line([(MARGIN_LEFT, MARGIN_TOP), (MARGIN_LEFT, bottom), (WIDTH - MARGIN_RIGHT, bottom)], fill=AXIS_COLOUR)
    draw.text((MARGIN_LEFT, 12), title, fill=AXIS_COLOUR, font=font)
    draw.rectangle([WIDTH - 200, 12, WIDTH - 190, 22], fill=FREE_COLOUR)
    draw.text((WIDTH - 185, 11), "free", fill=AXIS_COLOUR, font=font)
    draw.rectangle([WIDTH - 120, 12, WIDTH - 110, 22], fill=PAID_COLOUR)
    draw.text((WIDTH - 105, 11), "paid", fill=AXIS_COLOUR, font=font)
    draw.text((MARGIN_LEFT, HEIGHT - 18), "day of month (UTC)", fill=AXIS_COLOUR, font=font)

    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()
