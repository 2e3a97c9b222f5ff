"""The ``astro-cnn`` command line: one sub-command per module in :data:`COMMANDS`.

Each command module defines ``add_parser(subparsers)`` (returning its parser) and
``run(args) -> int``.  Errors astro_cnn raises on purpose are printed as one line
``astro-cnn: error: ...`` with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__
from ..exceptions import AstroCNNError

__all__ = ["main", "COMMANDS"]

#: Sub-command modules, in the order ``astro-cnn --help`` lists them.
COMMANDS = (
    "plugins_cmd",
    "models_cmd",
    "predict_cmd",
    "train_cmd",
    "cutouts_cmd",
    "query_cmd",
    "evaluate_cmd",
    "demo_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every sub-command attached."""
    parser = argparse.ArgumentParser(
        prog="astro-cnn",
        description="Predict galaxy properties (metallicity, stellar mass, photo-z) from survey images.",
    )
    parser.add_argument("--version", action="version", version=f"astro_cnn {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (AstroCNNError, FileExistsError, FileNotFoundError) as exc:
        print(f"astro-cnn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("astro-cnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
