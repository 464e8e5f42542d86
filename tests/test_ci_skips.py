"""CI's own guards (tests/conftest.py): skips are listed with their reasons, and a skipped
``required_in_ci`` test fails the run under CI=true."""

from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

pytest_plugins = ["pytester"]

EXAMPLE = """
import pytest

@pytest.mark.required_in_ci
@pytest.mark.skipif(True, reason="no browser here")
def test_needs_a_browser():
    pass

def test_optional():
    pytest.skip("no sample files")

def test_plain():
    pass
"""


@pytest.fixture
def example(pytester):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_example=EXAMPLE)
    return pytester


def test_skips_are_listed_with_their_reasons(example, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = example.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*2 tests skipped*",
            "SKIPPED test_example.py::test_needs_a_browser: no browser here",
            "SKIPPED test_example.py::test_optional: no sample files",
        ]
    )


def test_a_required_test_skipped_in_ci_fails_the_run(example, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = example.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1, errors=1)  # skipif skips at setup
    result.stdout.fnmatch_lines(["*required in CI (CI=true) but skipped: no browser here*"])
    assert result.ret != 0
