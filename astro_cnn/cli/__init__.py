"""The ``astro-cnn`` command line: one sub-command per module in :data:`COMMANDS`.

Each command module defines ``add_parser(subparsers)`` (returning its parser) and
``run(args) -> int``.  Every error is printed as one line ``astro-cnn: error: ...``, never as a
traceback (``--debug`` shows it): exit status 2 for bad usage or input (see :func:`exit_status`),
1 for failures (network, file system, anything unexpected), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from .._version import __version__
from ..exceptions import AstroCNNError

__all__ = ["main", "COMMANDS", "exit_status"]

#: Sub-command modules, in the order ``astro-cnn --help`` lists them.
COMMANDS = (
    "plugins_cmd",
    "models_cmd",
    "predict_cmd",
    "train_cmd",
    "cutouts_cmd",
    "query_cmd",
    "evaluate_cmd",
    "baseline_cmd",
    "demo_cmd",
)


_DEBUG_HELP = "show the full traceback of an error"
#: Library messages name keyword arguments (``overwrite=True``); the command line names the flag.
_ARGUMENT_TO_FLAG = {"overwrite=True": "--overwrite", "resume=True": "--resume",
                     "min_centre_snr=None": "--min-centre-snr 0", "min_centre_snr": "--min-centre-snr",
                     "batch_size": "--batch-size", "run_dir": "--run-dir", "keep_columns": "--keep-column",
                     "size=": "--size ", "image_dir": "--image-dir",
                     "outdir": "--output-dir"}  # each argument before any that starts it
#: An argument's name as a word (one ending in "=" also before its value), outside quoted text such as paths.
_ARGUMENT_PATTERN = re.compile(r"\b(" + "|".join(re.escape(name) + ("" if name.endswith("=") else r"(?![\w.])")
                                                 for name in _ARGUMENT_TO_FLAG) + ")")
_QUOTED = re.compile(r"((?<!\w)'[^']*'(?!\w)|(?<!\w)\"[^\"]*\"(?!\w))")  # an apostrophe (run's) opens no quote
_MAX_MESSAGE = 400


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"astro-cnn: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every sub-command attached."""
    parser = _Parser(
        prog="astro-cnn",
        description="Predict galaxy properties (metallicity, stellar mass, photo-z) from survey images.",
    )
    parser.add_argument("--version", action="version", version=f"astro_cnn {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        sub = module.add_parser(subparsers)
        # also accepted after the command; SUPPRESS keeps a --debug given before it
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
        sub.set_defaults(_run=module.run)
    return parser


def exit_status(exc: BaseException) -> int:
    """The exit status an error ends the command with.

    2 for bad usage or input: errors astro_cnn raises on purpose (a missing column, an unknown
    name, a missing or damaged model, incompatible images), input files that do not exist,
    outputs that already exist or are directories, and bad argument values (``ValueError``).  1 for failures:
    network and other operating-system errors (a read-only directory, a full disk), whether
    raised by astro_cnn or not, and anything unexpected.
    """
    if isinstance(exc, (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError)):
        return 2
    if isinstance(exc, OSError):  # includes ConnectionError, TimeoutError and requests' errors
        return 1
    return 2 if isinstance(exc, (AstroCNNError, ValueError)) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("astro-cnn: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        print(f"astro-cnn: error: {_message(exc, hint=not args.debug)}", file=sys.stderr)
        return exit_status(exc)


def _message(exc: Exception, hint: bool) -> str:
    """One line: the error's message (with its type unless it is ours or the operating system's), shortened."""
    text = str(exc) if isinstance(exc, (AstroCNNError, OSError)) else f"{type(exc).__name__}: {exc}"
    parts = [part if _QUOTED.fullmatch(part) else _ARGUMENT_PATTERN.sub(lambda m: _ARGUMENT_TO_FLAG[m.group(1)], part)
             for part in _QUOTED.split(" ".join(text.split()))]
    text = "".join(parts) or type(exc).__name__
    if len(text) > _MAX_MESSAGE:  # keep the start (what failed) and the end (the cause)
        text = f"{text[:_MAX_MESSAGE // 2]} ... {text[-_MAX_MESSAGE // 2:]}"
    if hint and exit_status(exc) == 1:
        text += " (run with --debug for the traceback)"
    return text
