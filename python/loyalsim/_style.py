"""One look per policy in every chart: an Okabe–Ito colour, a line style and a marker.

Okabe & Ito's eight colours stay distinguishable under the common colour-vision
deficiencies; the line style and marker change with the colour, so a chart
printed in grey (or read by someone who cannot tell two hues apart) still
separates the policies. The baseline is always black and solid.
"""
from __future__ import annotations

BASELINE = {"colour": "#000000", "linestyle": "-", "marker": "o", "hatch": ""}
#: Okabe–Ito without black (the baseline's) and with yellow last (weak on white).
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
LINESTYLES = ("--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 1)), (0, (3, 1, 1, 1)))
MARKERS = ("s", "^", "D", "v", "P", "X", "*")
HATCHES = ("//", "\\\\", "xx", "..", "++", "--", "oo")


def policy_styles(policies) -> dict[str, dict]:
    """{policy: {colour, linestyle, marker, hatch}}, the first policy (the baseline) black."""
    out = {}
    for i, name in enumerate(str(p) for p in policies):
        if i == 0:
            out[name] = dict(BASELINE)
            continue
        k = (i - 1) % len(OKABE_ITO)
        out[name] = {"colour": OKABE_ITO[k], "linestyle": LINESTYLES[k], "marker": MARKERS[k], "hatch": HATCHES[k]}
    return out
