"""Numbers as a reader should see them: rounded to what their interval supports.

The rule (Wieland & Nelson 2009: drop digits without statistical meaning):
an estimate is rounded to the decimal place of the first significant digit
of its 95% interval's half-width, and so are the interval's ends. 1,264,123
± 9,600 shows as 1,264,000; ± 10,400 as 1,260,000; a share 61.12% ± 1.14
points as 61%. Never more than :data:`MAX_DIGITS` significant digits (a tiny
interval does not make seven digits readable), never finer than the fourth
decimal place (:data:`MAX_PLACES`: floating-point dust such as 2e-12 shows as
0), and with no interval (one replication, or an exact zero) three
significant digits.

Large values are written in millions (``1.26 M``) from 1,000,000 up; below
that with thousands separators. Shares are percentages. Signs are explicit
where asked (differences): ``+1,200``, ``−300`` (a true minus sign).
"""
from __future__ import annotations

import math

MAX_DIGITS = 4
NO_INTERVAL_DIGITS = 3
#: The finest place shown: 0.0001 (0.01 percentage points); floating-point dust below it is zero.
MAX_PLACES = 4
MINUS = "\u2212"


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def decimals(value: float, half_width: float = math.nan) -> int:
    """Decimal places to keep (negative: round to tens, hundreds …) for ``value`` ± ``half_width``.

    >>> decimals(1264123, 9600), decimals(1264123, 10400), decimals(0.6112, 0.0114)
    (-3, -4, 2)
    >>> decimals(1234.5678, 0.000001), decimals(123.456), decimals(0.0), decimals(2e-12, 3e-12)
    (0, 0, 0, 4)
    """
    return min(MAX_PLACES, _decimals(value, half_width))


def _decimals(value: float, half_width: float) -> int:
    value = abs(float(value)) if _finite(value) else 0.0
    cap = -math.inf
    if value > 0:
        cap = -(math.floor(math.log10(value)) - (MAX_DIGITS - 1))  # at most MAX_DIGITS significant digits
    if _finite(half_width) and float(half_width) > 0:
        want = -math.floor(math.log10(float(half_width)))
        return int(min(want, cap)) if value > 0 else int(want)
    if value == 0:
        return 0
    return int(-(math.floor(math.log10(value)) - (NO_INTERVAL_DIGITS - 1)))


def round_to_interval(value: float, half_width: float = math.nan) -> float:
    """``value`` rounded as :func:`decimals` says.

    >>> round_to_interval(1264123, 9600), round_to_interval(1264123, 10400)
    (1264000.0, 1260000.0)
    """
    if not _finite(value):
        return float(value)
    return float(round(float(value), decimals(value, half_width)))


def _grouped(x: float, places: int) -> str:
    """Fixed ``places`` decimals (≥ 0) with thousands separators, no sign."""
    return f"{abs(x):,.{max(0, places)}f}"


def format_number(value: float, half_width: float = math.nan, *, kind: str = "count", sign: bool = False,
                  places: int | None = None) -> str:  # fmt: skip
    """``value`` as text, rounded to its interval: shares as %, others with separators or in millions.

    ``places`` overrides the rounding (the decimal places of the unscaled value).

    >>> format_number(1264123, 9600, kind="money"), format_number(72910, 1530)
    ('1.264 M', '73,000')
    >>> format_number(0.6112, 0.0114, kind="share"), format_number(-24620, 840, sign=True)
    ('61%', '−24,600')
    >>> format_number(0.0, 0.0, sign=True), format_number(float("nan"))
    ('0', 'n/a')
    """
    if not _finite(value):
        return "n/a"
    value = float(value)
    places = decimals(value, half_width) if places is None else places
    rounded = round(value, places)
    if rounded == 0:
        return "0" + ("%" if kind == "share" else "")
    lead = MINUS if rounded < 0 else ("+" if sign else "")
    if kind == "share":
        return f"{lead}{_grouped(rounded * 100, places - 2)}%"
    if abs(rounded) >= 1e6:
        return f"{lead}{_grouped(rounded / 1e6, places + 6)} M"
    return f"{lead}{_grouped(rounded, places)}"


def format_interval(low: float, high: float, half_width: float, value: float, *, kind: str = "count",
                    sign: bool = False) -> str:  # fmt: skip
    """The interval's ends with the estimate's rounding: ``1.25 M to 1.27 M``; '' without bounds.

    >>> format_interval(1250000, 1270000, 10000, 1260000, kind="money")
    '1.25 M to 1.27 M'
    """
    if not (_finite(low) and _finite(high)):
        return ""
    places = decimals(value, half_width)
    return (f"{format_number(low, kind=kind, sign=sign, places=places)} to "
            f"{format_number(high, kind=kind, sign=sign, places=places)}")  # fmt: skip


def format_estimate(value: float, low: float, high: float, *, kind: str = "count", sign: bool = False) -> str:
    """``value (low to high)``, all rounded to the interval's half-width.

    >>> format_estimate(1264123, 1254523, 1273723, kind="money")
    '1.264 M (1.255 M to 1.274 M)'
    """
    half = (high - low) / 2 if _finite(low) and _finite(high) else math.nan
    text = format_number(value, half, kind=kind, sign=sign)
    interval = format_interval(low, high, half, value, kind=kind, sign=sign)
    return f"{text} ({interval})" if interval else text


def format_count(n) -> str:
    """A whole number with thousands separators.

    >>> format_count(12345)
    '12,345'
    """
    return f"{int(n):,}"


# ---- the engine's table (app/report.cpp): "mean ± half-width" ----
#
# `loyalsim info` and `loyalsim run` print each row on one scale: a unit from
# its largest |mean| (M from a million, k from 100,000; % for shares) and
# enough decimals that its smallest 95% half-width shows two significant
# digits. Where that would take more than 2 decimals of M or k the row steps
# down a unit, so an interval is never rounded away ("+301.2k ± 4.0k", not
# "+0.30M ± 0.00M"); plain numbers and percentages take the decimals they need
# (up to 6). Without an interval: 3 significant digits of the largest value, at
# most 2 decimals; a row of zeros none. The report above rounds estimates to their interval
# instead; this is for text that sits beside the engine's table.

_UNITS = ((1e6, "M"), (1e3, "k"), (1.0, ""))


def _significant_places(x: float, significant: int) -> int:
    return significant - 1 - math.floor(math.log10(x))


def _table_scale(kind: str, largest: float, smallest_half_width: float) -> tuple[float, str, int]:
    """(divisor, suffix, decimals) of a row."""
    share = kind == "share"
    unit = 0 if largest >= 1e6 else 1 if largest >= 1e5 else 2
    divisor, suffix = (0.01, "%") if share else _UNITS[unit]
    if math.isfinite(smallest_half_width) and smallest_half_width > 0:
        while not share and unit < 2 and _significant_places(smallest_half_width / divisor, 2) > 2:
            unit += 1
            divisor, suffix = _UNITS[unit]
        decimals = min(max(_significant_places(smallest_half_width / divisor, 2), 0), 6)
    elif math.isfinite(largest) and largest > 0:
        decimals = min(max(_significant_places(largest / divisor, 3), 0), 2)
    else:
        decimals = 0  # all zero (a policy identical to the baseline, a cost nobody pays): "0 ± 0"
    return divisor, suffix, decimals


def _table_number(x: float, divisor: float, suffix: str, decimals: int, sign: bool) -> str:
    if not math.isfinite(x):
        return "n/a"
    digits = f"{abs(x) / divisor:,.{decimals}f}"
    negative = x < 0 and any(c not in "0.," for c in digits)
    return ("-" if negative else "+" if sign else "") + digits + suffix


def table_numbers(values, kind: str = "money", smallest_half_width: float = math.inf, sign: bool = False) -> list[str]:
    """Numbers of one column on the scale of :func:`table_row` (the engine's ``format_numbers``).

    The unit comes from the largest |value|, the decimals from
    ``smallest_half_width`` (``inf``: none; then three significant digits of
    the largest value).

    >>> table_numbers([301234.0, -12000.0], "money", 4000.0, sign=True)
    ['+301.2k', '-12.0k']
    """
    values = [float(v) for v in values]
    largest = max([abs(v) for v in values if math.isfinite(v)], default=0.0)
    scale = _table_scale(kind, largest, float(smallest_half_width))
    return [_table_number(v, *scale, sign) for v in values]


def table_row(means, lows, highs, kind: str = "money", sign: bool = False) -> list[str]:
    """The cells "mean ± half-width" of one row of the engine's table, on one scale (see above).

    ``kind`` is ``"money"``, ``"count"``, ``"messages"`` or ``"share"`` (a
    fraction, shown in %); ``sign`` puts "+" before positive means (differences).
    A cell whose bounds are NaN shows the mean alone; a NaN mean shows "n/a".

    >>> table_row([12e6, 3e5], [11.5e6, 2.96e5], [12.5e6, 3.04e5], "money", sign=True)
    ['+12,000.0k ± 500.0k', '+300.0k ± 4.0k']
    >>> table_row([0.6371], [0.6285], [0.6457], "share")
    ['63.71% ± 0.86%']
    """
    means, lows, highs = ([float(v) for v in seq] for seq in (means, lows, highs))
    largest = max([abs(m) for m in means if math.isfinite(m)], default=0.0)
    widths = [(h - lo) / 2 for lo, h in zip(lows, highs)]
    smallest = min([w for w in widths if w > 0], default=math.inf)
    scale = _table_scale(kind, largest, smallest)
    out = []
    for m, lo, w in zip(means, lows, widths):
        text = _table_number(m, *scale, sign)
        out.append(text + " ± " + _table_number(w, *scale, False) if math.isfinite(lo) else text)
    return out
