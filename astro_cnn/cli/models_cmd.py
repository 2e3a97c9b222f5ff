"""``astro-cnn models``: trained models installed by plugins."""

from __future__ import annotations

import argparse

from astropy.table import Table

from .. import registry
from ..remote_models import cached_models

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``models`` sub-command."""
    parser = subparsers.add_parser("models", help="list installed and downloaded trained models",
                                   description="List the trained models installed plugins ship, and the models "
                                               "fetched by URL (--model https://...#sha256=...) into the "
                                               "download cache.")
    parser.add_argument("--card", metavar="NAME", help="print the model card of this model")
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the models, or one model's card."""
    if args.card is not None:
        spec = registry.get("model", args.card)
        if spec.card is None:
            print(f"model {spec.name!r} has no model card")
            return 1
        print(open(spec.card, encoding="utf-8").read())
        return 0
    rows = [(c.spec.name, c.spec.quantity, "yes" if c.spec.default else "", c.distribution, c.spec.description)
            for c in sorted(registry.components("model").values(), key=lambda c: c.name)]
    if rows:
        table = Table(rows=rows, names=("name", "quantity", "default", "distribution", "description"))
        table.pprint(max_lines=-1, max_width=-1, align="<")
    else:
        print("no trained models are installed")
    cached = cached_models()
    if cached:
        print("\ndownloaded models (pass the URL, with its #sha256=, as --model):")
        Table(rows=[(url, str(path)) for url, path in sorted(cached.items())],
              names=("url", "cached file")).pprint(max_lines=-1, max_width=-1, align="<")
    return 0
