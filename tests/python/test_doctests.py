"""The runnable examples in the package's docstrings."""
import doctest

import pytest

import loyalsim
from loyalsim import _format, _stats, _toml, decision, runner
from loyalsim.report import sections


@pytest.mark.parametrize("module", [loyalsim, _toml, runner, _format, _stats, decision, sections], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, extraglobs={"loyalsim": loyalsim}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert module in (loyalsim, runner) or result.attempted > 0  # the examples ran
