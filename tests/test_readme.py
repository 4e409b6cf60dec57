"""The README's examples run, and its set-up commands are the ones CI uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_python_examples() -> None:
    """The README shows code to embed the library (two examples)."""
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int) -> None:
    """Each README Python example executes without error (its asserts included)."""
    exec(compile(BLOCKS[index], f"README.md example {index}", "exec"), {})  # noqa: S102 - our own README


def test_readme_commands_match_ci() -> None:
    """The README's test command is what .ci/run calls, and the main command runs `cabinet demo`."""
    assert "scripts/test" in README
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"pip install \. && \.venv/bin/cabinet demo", README)
