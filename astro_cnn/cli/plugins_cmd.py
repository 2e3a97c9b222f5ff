"""``astro-cnn plugins``: every installed plugin component, who provides it and in which version."""

from __future__ import annotations

import argparse

from astropy.table import Table

from .. import registry

__all__ = ["add_parser", "run", "plugins_table"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``plugins`` sub-command."""
    parser = subparsers.add_parser("plugins", help="list installed plugins and what each provides",
                                   description="List every survey, quantity, backbone, head, recipe, "
                                               "predictor type and model that installed plugins register.")
    parser.add_argument("--kind", choices=sorted(registry.KINDS), help="only this kind of component")
    return parser


def plugins_table(kind: str | None = None) -> Table:
    """Return one row per registered component: kind, name, plugin, distribution, version, description."""
    rows = []
    for k in ([kind] if kind else list(registry.KINDS)):
        for name, component in sorted(registry.components(k).items()):
            description = getattr(component.spec, "description", "")
            short = description if len(description) <= 80 else description[:79] + "…"
            rows.append((k, name, component.plugin, component.distribution, component.version, short))
    names = ("kind", "name", "plugin", "distribution", "version", "description")
    return Table(rows=rows, names=names) if rows else Table(names=names, dtype=[str] * 6)


def run(args: argparse.Namespace) -> int:
    """Print the plugin table."""
    table = plugins_table(args.kind)
    table.pprint(max_lines=-1, max_width=-1, align="<")
    return 0
