"""Rounding to what the interval supports: the one helper every number of the report goes through."""
import math

import pytest

from loyalsim._format import decimals, format_estimate, format_interval, format_number, round_to_interval


@pytest.mark.parametrize(
    "value, half, places",
    [
        (1_264_123, 9_600, -3),  # first significant digit of 9,600: thousands
        (1_264_123, 10_400, -4),  # of 10,400: ten thousands
        (0.6112, 0.0114, 2),  # a share: 61% ± 1 point
        (0.6112, 0.0009, 4),  # ± 0.09 points: 61.12%
        (52.3, 0.5, 1),
        (52.3, 1.0, 0),
        (1234.5678, 1e-6, 0),  # at most four significant digits
        (0.0885, math.nan, 4),  # no interval: three significant digits
        (123_456, math.nan, -3),
        (2e-12, 3e-12, 4),  # floating-point dust: never past the fourth decimal
        (0.0, 0.0, 0),
    ],
)
def test_decimals(value, half, places):
    assert decimals(value, half) == places


@pytest.mark.parametrize(
    "value, half, kind, sign, text",
    [
        (1_264_123, 9_600, "money", False, "1.264 M"),
        (1_264_123, 10_400, "money", False, "1.26 M"),
        (72_910, 1_530, "count", False, "73,000"),
        (-24_620, 840, "money", True, "−24,600"),
        (24_620, 840, "money", True, "+24,600"),
        (0.6112, 0.0114, "share", False, "61%"),
        (0.0550, 0.0067, "share", False, "5.5%"),
        (0.0885, math.nan, "count", False, "0.0885"),
        (3.0, 40.0, "money", True, "0"),  # 3 ± 40 shows as 0: nothing finer is known
        (math.nan, 1.0, "count", False, "n/a"),
        (math.inf, 1.0, "count", False, "n/a"),
    ],
)
def test_format_number(value, half, kind, sign, text):
    assert format_number(value, half, kind=kind, sign=sign) == text


def test_interval_ends_take_the_estimates_rounding():
    assert format_interval(1_254_523, 1_273_723, 9_600, 1_264_123, kind="money") == "1.255 M to 1.274 M"
    assert format_estimate(110_445.7, 106_366.5, 114_524.8, kind="money", sign=True) == "+110,000 (+106,000 to +115,000)"
    assert format_interval(math.nan, 1.0, 1.0, 0.5) == ""


def test_round_to_interval():
    assert round_to_interval(1_264_123, 9_600) == 1_264_000
    assert round_to_interval(0.61123, 0.0114) == 0.61
    assert math.isnan(round_to_interval(math.nan, 1.0))
