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
