"""Argument types and ``--survey-option`` parsing shared by the sub-commands; errors speak of flags."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any

from .. import registry
from ..exceptions import AstroCNNError
from ..survey_factory import accepted_options, make_survey

__all__ = ["positive_int", "non_negative_int", "fraction", "outlier_threshold", "survey_options"]


def _integer_at_least(least: int, what: str):
    """An argument type accepting integers of at least ``least`` (``what`` names them in the error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


#: Argument type: an integer of at least 1 (a batch size, a count).
positive_int = _integer_at_least(1, "a positive integer")
#: Argument type: an integer of at least 0 (a number of worker processes).
non_negative_int = _integer_at_least(0, "a non-negative integer")


def fraction(text: str) -> float:
    """Argument type: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction from 0 up to (not including) 1, got {text!r}")
    return value


def finite_number(text: str) -> float:
    """Argument type: a finite number (not inf or nan)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def non_negative_number(text: str) -> float:
    """Argument type: a finite number of at least 0."""
    value = finite_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {text!r}")
    return value


def positive_number(text: str) -> float:
    """Argument type: a finite number above 0."""
    value = finite_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def outlier_threshold(text: str) -> float | str:
    """Argument type: a non-negative number, or ``rail``."""
    if text == "rail":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a non-negative number or 'rail', got {text!r}")
    return value


def survey_options(pairs: Sequence[str], survey: str) -> dict[str, Any]:
    """Turn ``--survey-option KEY=VALUE`` strings into keyword arguments for ``survey``'s factory.

    Values ``true``/``false`` (also yes/no, on/off), integers and floats are converted; dashes in
    keys become underscores.

    Raises
    ------
    AstroCNNError
        A string is not ``KEY=VALUE``, or the survey has no such option; the message lists the
        options it accepts.
    UnknownNameError
        No installed plugin provides ``survey``.
    """
    factory = registry.get("survey", survey).factory
    if not pairs:
        return {}
    accepted = accepted_options(factory)
    if accepted is None:  # e.g. a plugin's lazy ``def factory(**options)``: ask the survey it builds
        accepted = _options_of_built_survey(survey)
    listing = f"its options are: {', '.join(accepted) or 'none'}" if accepted is not None else ""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise AstroCNNError(f"--survey-option {pair!r} is not of the form KEY=VALUE"
                                + (f"; survey {survey!r}: {listing}" if listing else ""))
        if accepted is not None and key not in accepted:
            raise AstroCNNError(f"--survey-option {pair!r}: survey {survey!r} has no option {key!r}; {listing}")
        options[key] = _convert(value.strip())
    return options


def _options_of_built_survey(survey: str) -> list[str] | None:
    """The options of the class of the survey ``survey`` names; None when it cannot be built without options."""
    try:
        built = make_survey(survey)
    except Exception:  # a survey that needs options cannot be inspected this way; the factory will check them
        return None
    return accepted_options(type(built))


def _convert(value: str) -> Any:
    lowered = value.lower()
    if lowered in {"true", "yes", "on"}:
        return True
    if lowered in {"false", "no", "off"}:
        return False
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value
