"""Draw a `Trend` as an SVG or PNG chart with matplotlib (Agg, no display, no pyplot state).

Charts are rendered server side so the reports page needs no script and the CLI can write
the same picture to a file. Labels come from users (team and service slugs), so math text
is switched off (a `$` in a name would otherwise be parsed as TeX), and SVG text is kept as
`<text>` elements, which matplotlib's XML writer escapes. rcParams are process-wide, so one
lock serialises rendering; a chart takes a few tens of milliseconds.
"""

from __future__ import annotations

import io
import threading
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tocsin.reports.incident_metrics import Trend

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

_LOCK = threading.Lock()
_RC: dict[RcKeyType, Any] = {"text.parse_math": False, "svg.fonttype": "none", "svg.hashsalt": "tocsin", "font.size": 9,
                             "axes.spines.top": False, "axes.spines.right": False}
# Severity colours from hot to cool; other series take the default cycle.
_COLOURS = {"SEV1": "#b91c1c", "SEV2": "#ea580c", "SEV3": "#ca8a04", "SEV4": "#2563eb"}


class ImageFormat(StrEnum):
    svg = "svg"
    png = "png"


MEDIA_TYPES = {ImageFormat.svg: "image/svg+xml", ImageFormat.png: "image/png"}


def _tick_labels(keys: list[str]) -> tuple[list[int], list[str]]:
    """At most about a dozen labels, so a year of weeks stays readable."""
    step = max(1, -(-len(keys) // 12))
    positions = list(range(0, len(keys), step))
    return positions, [keys[i] for i in positions]


def render(trend: Trend, fmt: ImageFormat = ImageFormat.svg, *, width: float = 7.0, height: float = 3.2) -> bytes:
    """Return the chart as SVG (UTF-8 XML) or PNG bytes."""
    import matplotlib  # lazy: matplotlib takes a third of a second to import; only charts need it

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # lazy: as above, once the Agg backend is chosen

    with _LOCK, matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        xs = list(range(len(trend.buckets)))
        if trend.style == "stacked":
            bottom = [0.0] * len(xs)
            for s in trend.series:
                values = [v or 0.0 for v in s.values]
                ax.bar(xs, values, bottom=bottom, label=s.label, color=_COLOURS.get(s.label))
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        elif trend.style == "bar":
            for s in trend.series:
                ax.bar(xs, [v or 0.0 for v in s.values], label=s.label)
        else:
            for s in trend.series:
                # None breaks the line: a week without incidents has no MTTA, not an MTTA of 0
                ax.plot(xs, [float("nan") if v is None else v for v in s.values], marker="o", markersize=3,
                        label=s.label)
        ax.set_title(trend.title, loc="left")
        ax.set_ylabel(trend.unit_label)
        ax.set_ylim(bottom=0)
        positions, labels = _tick_labels(trend.buckets)
        ax.set_xticks(positions, labels, rotation=45, ha="right")
        if not trend.buckets or not any(v for s in trend.series for v in s.values):
            ax.text(0.5, 0.5, "no data in this period", transform=ax.transAxes, ha="center", va="center",
                    color="#6b7280")
        if trend.series:
            ax.legend(loc="upper left", fontsize=8, frameon=False)
        buf = io.BytesIO()
        metadata = {"Date": None} if fmt == ImageFormat.svg else {"Software": None}
        fig.savefig(buf, format=fmt.value, metadata=metadata)
        return buf.getvalue()


def inline_svg(trend: Trend) -> str:
    """The chart as an `<svg>` element to place in an HTML page (no XML prolog or DOCTYPE)."""
    text = render(trend, ImageFormat.svg).decode("utf-8")
    return text[text.index("<svg"):]
