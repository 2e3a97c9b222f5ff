"""Checks of the SDSS surveys' network options: a wrong value is an error naming the option."""

from __future__ import annotations

import math
from typing import Any

from astro_cnn import AstroCNNError
from astro_cnn.arguments import checked_count

__all__ = ["flag", "count", "seconds", "rate"]


def flag(name: str, value: Any) -> bool:
    """Return ``value`` if True or False, else raise :class:`~astro_cnn.exceptions.AstroCNNError` naming ``name``."""
    if not isinstance(value, bool):
        raise AstroCNNError(f"option {name} must be true or false, not {value!r}")
    return value


def count(name: str, value: Any, smallest: int) -> int:
    """Return ``value`` if it is an integer of at least ``smallest``, else raise naming option ``name``."""
    return checked_count(value, f"option {name}", smallest)


def seconds(name: str, value: Any, *, zero: bool) -> float:
    """Return ``value`` as float seconds if it is a finite number > 0 (>= 0 with ``zero``), else raise."""
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        bound = "at least 0" if zero else "more than 0"
        raise AstroCNNError(f"option {name} must be a number of seconds {bound}, not {value!r}")
    return number


def rate(name: str, value: Any) -> float:
    """Return ``value`` as float requests per second if it is a finite number >= 0 (0: no limit), else raise."""
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number) or number < 0:
        raise AstroCNNError(f"option {name} must be a number of requests per second of at least 0 "
                            f"(0: no limit), not {value!r}")
    return number
