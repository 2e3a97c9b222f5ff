"""Surveys built from their registry names: :func:`make_survey` and the options a survey accepts."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from . import registry
from .exceptions import AstroCNNError
from .survey import Survey

__all__ = ["make_survey", "default_survey", "accepted_options"]


def default_survey() -> str:
    """The name of the survey an installed plugin marks as the default (:class:`~astro_cnn.SurveySpec`).

    Raises
    ------
    AstroCNNError
        No installed survey is marked as the default.
    """
    marked = sorted(name for name, component in registry.components("survey").items() if component.spec.default)
    if not marked:
        raise AstroCNNError(f"no installed plugin marks a default survey: name one (installed: "
                            f"{', '.join(registry.names('survey')) or 'none'})")
    return marked[0]


def make_survey(survey: str | Survey | None, **options: Any) -> Survey:
    """Return ``survey`` itself, or the registered survey of that name built with ``options``.

    Parameters
    ----------
    survey : str, Survey or None
        Registry name (see ``astro-cnn plugins``), a survey instance (returned as it is), or None
        for the :func:`~astro_cnn.survey_factory.default_survey`.
    **options
        Keyword arguments of the survey's factory (e.g. ``offline=True``); none with an instance.

    Returns
    -------
    Survey

    Raises
    ------
    UnknownNameError
        No installed plugin provides ``survey``; the message lists the surveys that exist.
    AstroCNNError
        The survey does not take one of ``options``, or misses one it needs; the message names
        the survey, the options and, where the factory declares them, those it accepts.  Also
        when ``options`` come with a survey instance.
    """
    if isinstance(survey, Survey):
        if options:
            raise AstroCNNError(f"options {sorted(options)} go with a survey name; survey {survey.name!r} "
                                "is already built")
        return survey
    spec = registry.get("survey", survey or default_survey())
    accepted = accepted_options(spec.factory)
    unknown = sorted(set(options) - set(accepted or options))
    if unknown:
        raise AstroCNNError(f"survey {spec.name!r} does not take the options {unknown}; "
                            f"its options are: {', '.join(accepted) or 'none'}")
    try:
        return spec.factory(**options)
    except TypeError as exc:
        raise AstroCNNError(f"survey {spec.name!r} cannot be built with the options {sorted(options)}: {exc}") \
            from None


def accepted_options(factory: Callable[..., Any]) -> list[str] | None:
    """The keyword options a survey factory accepts, following ``**options`` up a class's bases.

    Parameters
    ----------
    factory : callable
        A survey class or a function that builds a survey.

    Returns
    -------
    list of str or None
        Sorted option names; None when the factory takes any keyword.
    """
    signatures = [inspect.signature(factory)]
    if isinstance(factory, type):
        signatures += [inspect.signature(base.__init__) for base in factory.__mro__[1:]
                       if "__init__" in vars(base) and base is not object]
    names: set[str] = set()
    for signature in signatures:
        parameters = signature.parameters.values()
        names.update(p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            names.discard("self")
            return sorted(names)
    return None
