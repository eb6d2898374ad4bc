"""The tray icon's pictures, drawn in code: a photo glyph in the state's colour and a small badge.

Drawn at four times the size and scaled down, for smooth edges at 16-64 px.
idle: blue. indexing: blue with a green progress ring. paused: grey with pause
bars. down: grey, hollow. error: blue with a red "!" (so it reads at a glance
on both light and dark panels).
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from .state import Look

BLUE, GREY, GREEN, RED, WHITE = "#2a6edb", "#8a8a8a", "#1f9d55", "#d32f2f", "#ffffff"
SIZE = 64
APP = Look("idle", "photosift")  # the application's own icon: the photo glyph, no badge
# the glyph as a scalable icon for the desktop's icon theme (hicolor/scalable), the same shapes as `draw`
SVG = f"""\
<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <rect x="3.84" y="10.24" width="51.2" height="43.52" rx="6.4" fill="{BLUE}"/>
  <circle cx="40.96" cy="21.76" r="5.12" fill="{WHITE}"/>
  <polygon points="7.68,49.92 23.04,26.88 35.84,49.92" fill="{WHITE}"/>
  <polygon points="26.88,49.92 38.4,34.56 51.2,49.92" fill="{WHITE}"/>
</svg>
"""
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)  # the theme's sizes that trays, menus and docks ask for


def png(size: int) -> bytes:
    """The application icon as PNG bytes, for the icon theme."""
    out = io.BytesIO()
    draw(APP, size).save(out, "PNG")
    return out.getvalue()


def draw(look: Look, size: int = SIZE) -> Image.Image:
    s = size * 4
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    colour = GREY if look.state in ("paused", "down") else BLUE
    frame = (s * 0.06, s * 0.16, s * 0.86, s * 0.84)
    if look.state == "down":
        # at least 2 px wide once scaled down: thinner, it is a grey haze at 16 px rather than a frame
        d.rounded_rectangle(frame, radius=s * 0.1, outline=colour, width=max(round(s * 0.06), 8))
    else:
        d.rounded_rectangle(frame, radius=s * 0.1, fill=colour)
        # a sun and two mountains: "a photo"
        d.ellipse((s * 0.56, s * 0.26, s * 0.72, s * 0.42), fill=WHITE)
        d.polygon([(s * 0.12, s * 0.78), (s * 0.36, s * 0.42), (s * 0.56, s * 0.78)], fill=WHITE)
        d.polygon([(s * 0.42, s * 0.78), (s * 0.60, s * 0.54), (s * 0.80, s * 0.78)], fill=WHITE)
    badge = (s * 0.56, s * 0.56, s * 0.98, s * 0.98)
    if look.state == "indexing":
        d.ellipse(badge, fill=WHITE)
        d.pieslice(badge, -90, -90 + 360 * max(look.fraction, 0.04), fill=GREEN)
        inset = s * 0.07
        d.ellipse((badge[0] + inset, badge[1] + inset, badge[2] - inset, badge[3] - inset), fill=WHITE)
    elif look.state == "paused":
        d.ellipse(badge, fill=WHITE, outline=GREY, width=round(s * 0.03))
        for left in (0.69, 0.79):
            d.rectangle((s * left, s * 0.66, s * (left + 0.06), s * 0.88), fill=GREY)
    elif look.state == "error":
        d.ellipse(badge, fill=RED)
        d.rectangle((s * 0.745, s * 0.63, s * 0.795, s * 0.83), fill=WHITE)
        d.ellipse((s * 0.745, s * 0.86, s * 0.795, s * 0.91), fill=WHITE)
    # averaged down (box filter, in premultiplied alpha): each pixel is the coverage of its 4x4 block.
    # Lanczos rings at the edges, leaving faint stray pixels around the glyph on a panel.
    return img.convert("RGBa").reduce(4).convert("RGBA")
