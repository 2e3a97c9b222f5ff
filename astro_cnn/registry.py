"""Discovery of plugins through the ``astro_cnn`` entry-point group and the registries built from them.

Built-in plugins (``astro_cnn_sdss``, ``astro_cnn_nets``, ...) are found exactly like a
third-party package: through the entry points their distribution declares.  The core
never imports a plugin by name.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from dataclasses import dataclass
from typing import Any

import pluggy

from . import hookspecs
from .exceptions import AstroCNNError, PluginClashError, UnknownNameError

__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "Component",
    "PluginLoadWarning",
    "plugin_manager",
    "components",
    "get",
    "names",
    "register",
    "reset",
]

#: The entry-point group astro_cnn plugins declare.
ENTRY_POINT_GROUP = "astro_cnn"

#: Component kinds and the hook that provides each.
KINDS = {
    "survey": "astro_cnn_surveys",
    "quantity": "astro_cnn_quantities",
    "backbone": "astro_cnn_backbones",
    "head": "astro_cnn_heads",
    "recipe": "astro_cnn_recipes",
    "predictor_type": "astro_cnn_predictor_types",
    "model": "astro_cnn_models",
}


class PluginLoadWarning(UserWarning):
    """An installed plugin could not be imported and was skipped."""


@dataclass(frozen=True)
class Component:
    """One registered component and who provided it.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    name : str
        Registry name.
    spec : object
        What the plugin returned (a spec record or a :class:`~astro_cnn.Quantity`).
    plugin : str
        Plugin (entry-point) name.
    distribution : str
        Distribution that installed the plugin, or ``"(registered at run time)"``.
    version : str
        That distribution's version, or ``""``.
    """

    kind: str
    name: str
    spec: Any
    plugin: str
    distribution: str
    version: str


_RUNTIME = "(registered at run time)"
_state: dict[str, Any] = {}


def plugin_manager() -> pluggy.PluginManager:
    """Return the plugin manager, loading every installed plugin on first use.

    Returns
    -------
    pluggy.PluginManager
    """
    if "pm" not in _state:
        pm = pluggy.PluginManager("astro_cnn")
        pm.add_hookspecs(hookspecs)
        _state["pm"] = pm
        _state["dist"] = {}
        _state["components"] = None
        _load_entry_points(pm, _state["dist"])
        _check_hook_names(pm)
    return _state["pm"]


def register(plugin: object, name: str | None = None) -> str:
    """Register a plugin object at run time (useful in notebooks and tests).

    Parameters
    ----------
    plugin : module or object
        Holds hook implementations marked with :data:`astro_cnn.hookimpl`.
    name : str, optional
        Plugin name; pluggy chooses one if omitted.

    Returns
    -------
    str
        The plugin's name.
    """
    pm = plugin_manager()
    registered = pm.register(plugin, name=name)
    _check_hook_names(pm)
    _state["components"] = None
    return registered


def reset() -> None:
    """Forget every loaded plugin; the next call discovers them again."""
    _state.clear()


def components(kind: str) -> dict[str, Component]:
    """Return every registered component of one kind, by name.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.

    Returns
    -------
    dict of str to Component

    Raises
    ------
    PluginClashError
        Two plugins registered the same name; the message names both distributions.
    """
    if kind not in KINDS:
        raise UnknownNameError("component kind", kind, list(KINDS))
    plugin_manager()
    if _state["components"] is None:
        _state["components"] = _collect()
    return _state["components"][kind]


def names(kind: str) -> list[str]:
    """Return the sorted names of every registered component of one kind."""
    return sorted(components(kind))


def get(kind: str, name: str) -> Any:
    """Return the spec registered under ``name`` for ``kind``.

    Raises
    ------
    UnknownNameError
        No plugin registered that name; the message lists the names that exist.
    """
    found = components(kind)
    if name not in found:
        raise UnknownNameError(kind, name, list(found))
    return found[name].spec


def _load_entry_points(pm: pluggy.PluginManager, dist_of: dict[int, tuple[str, str]]) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else "?"
        dist_version = dist.version if dist is not None else ""
        previous = pm.get_plugin(ep.name)
        if previous is not None:
            other = dist_of.get(id(previous), (_RUNTIME, ""))[0]
            if other == dist_name:  # the same distribution seen twice on sys.path
                continue
            raise PluginClashError(
                f"plugin name {ep.name!r} is declared by two distributions: {other!r} and {dist_name!r}; "
                "uninstall one of them"
            )
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party plugin must not break the others
            warnings.warn(
                f"astro_cnn plugin {ep.name!r} from distribution {dist_name!r} could not be imported "
                f"({type(exc).__name__}: {exc}); it is skipped",
                PluginLoadWarning,
                stacklevel=3,
            )
            continue
        pm.register(plugin, name=ep.name)
        dist_of[id(plugin)] = (dist_name, dist_version)


def _check_hook_names(pm: pluggy.PluginManager) -> None:
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin)
        pm.unregister(exc.plugin)
        raise AstroCNNError(
            f"plugin {name!r} implements a hook astro_cnn does not define ({exc}); "
            f"the hooks are: {', '.join(KINDS.values())}"
        ) from None


def _collect() -> dict[str, dict[str, Component]]:
    pm = _state["pm"]
    dist_of = _state["dist"]
    collected: dict[str, dict[str, Component]] = {}
    for kind, hook_name in KINDS.items():
        found: dict[str, Component] = {}
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            distribution, version = dist_of.get(id(impl.plugin), (_RUNTIME, ""))
            for spec in impl.function() or []:
                component = Component(kind, spec.name, spec, impl.plugin_name, distribution, version)
                if spec.name in found:
                    first = found[spec.name]
                    raise PluginClashError(
                        f"{kind} {spec.name!r} is registered twice: by plugin {first.plugin!r} "
                        f"(distribution {first.distribution!r}) and by plugin {component.plugin!r} "
                        f"(distribution {component.distribution!r})"
                    )
                found[spec.name] = component
        collected[kind] = found
    return collected
