"""The page's unit of disk: 1 MB = 1,048,576 bytes, shown rounded up (a byte over is an MB over)."""

from __future__ import annotations

from typing import Final

__all__ = ["MB", "mb_ceil"]

MB: Final = 1_048_576


def mb_ceil(n_bytes: int) -> int:
    """Whole MB for ``n_bytes``, rounded up."""
    return -(-n_bytes // MB)
