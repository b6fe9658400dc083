"""The runnable examples in the package's docstrings."""
import doctest

import pytest

import loyalsim
from loyalsim import _toml, runner


@pytest.mark.parametrize("module", [loyalsim, _toml, runner], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, extraglobs={"loyalsim": loyalsim}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
