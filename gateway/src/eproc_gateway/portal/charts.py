"""Charts as inline SVG, drawn on the server: no script, readable by screen readers (role=img, title, desc)
and printable. Each bar's value is also written as text, so no colour carries meaning alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

PALETTE = ("#0b5cab", "#b4480a", "#2f7d32", "#6a3d9a", "#8a6d00", "#a01e4a")
_ids = count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    values: tuple[int, ...]  # one per series


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    series: Sequence[str] = (),
    fmt: Callable[[int], str] = str,
    width: int = 560,
) -> Markup:
    """Horizontal (grouped) bars: one row per bar, one thin bar per series, value written at its end."""
    n_series = max((len(b.values) for b in bars), default=1)
    top = max((v for b in bars for v in b.values), default=0)
    label_w, value_w, row_h, bar_h, gap = 150, 150, 8 + 20 * n_series, 18, 10
    legend_h = 24 if len(series) > 1 else 0
    height = legend_h + len(bars) * (row_h + gap) + 4
    plot_w = width - label_w - value_w
    uid = f"chart{next(_ids)}"
    names = list(series) or [""] * n_series
    desc = "; ".join(
        f"{b.label}: " + ", ".join(f"{s} {fmt(v)}".strip() for s, v in zip(names, b.values, strict=False)) for b in bars
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>',
    ]
    if len(series) > 1:
        x = 0
        for index, name in enumerate(series):
            colour = PALETTE[index % len(PALETTE)]
            parts.append(f'<rect x="{x}" y="4" width="14" height="14" fill="{colour}"/>')
            parts.append(f'<text x="{x + 20}" y="16" class="legend">{escape(name)}</text>')
            x += 30 + 9 * len(name)
    y = legend_h
    for bar in bars:
        parts.append(f'<text x="0" y="{y + 16}" class="label">{escape(_clip(bar.label, 16))}</text>')
        for index, value in enumerate(bar.values):
            length = 0 if top <= 0 else max(1 if value > 0 else 0, round(plot_w * max(value, 0) / top))
            by = y + 4 + index * 20
            colour = PALETTE[index % len(PALETTE)]
            parts.append(
                f'<rect x="{label_w}" y="{by}" width="{length}" height="{bar_h}" rx="2" fill="{colour}"/>'
                f'<text x="{label_w + length + 6}" y="{by + 14}" class="value">{escape(fmt(value))}</text>'
            )
        y += row_h + gap
    parts.append("</svg>")
    return Markup("".join(parts))


def meter(title: str, share_bp: int | None, text: str, *, width: int = 320) -> Markup:
    """A 0-100 % meter for a share in basis points (efficiency, e-contract share)."""
    uid = f"meter{next(_ids)}"
    filled = 0 if share_bp is None else round(width * min(max(share_bp, 0), 10_000) / 10_000)
    return Markup(
        f'<svg class="meter" viewBox="0 0 {width} 18" width="100%" role="img" aria-labelledby="{uid}-t" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none">'
        f'<title id="{uid}-t">{escape(title)}: {escape(text)}</title>'
        f'<rect x="0" y="0" width="{width}" height="18" rx="3" fill="#e3e8ef"/>'
        f'<rect x="0" y="0" width="{filled}" height="18" rx="3" fill="{PALETTE[2]}"/></svg>'
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
