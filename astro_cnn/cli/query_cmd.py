"""``astro-cnn query``: run a survey's catalogue query (SQL text or a named preset) and write the table."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..exceptions import AstroCNNError
from .options import positive_int

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``query`` sub-command."""
    parser = subparsers.add_parser(
        "query", help="query a survey's catalogue (SQL or a named sample preset)",
        description="Run a catalogue query through a survey (Survey.query) and write the result with units. "
                    "For the SDSS surveys: SkyServer SQL search, or a preset sample selection "
                    "(wu2019: Wu & Boada 2019 MPA-JHU galaxies; pasquet2019: DR12 Main Galaxy Sample); "
                    "answers are cached, so a repeated query needs no network.")
    parser.add_argument("--survey", help="survey whose catalogue to query (default: the survey an installed "
                                         "plugin marks as the default; see `astro-cnn plugins --kind survey`)")
    parser.add_argument("--survey-option", action="append", default=[], metavar="KEY=VALUE",
                        help="survey option, e.g. cache_dir=DIR (repeatable)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--preset", help="named sample selection: wu2019 or pasquet2019")
    what.add_argument("--sql", help="SQL text")
    what.add_argument("--sql-file", type=Path, help="file holding the SQL text")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output table file (format from suffix)")
    parser.add_argument("--top", type=positive_int, help="with --preset: at most this many rows")
    parser.add_argument("--data-release", type=positive_int, help="SDSS data release (default: the preset's or 17)")
    parser.add_argument("--refresh", action="store_true", help="ask the service even if the answer is cached")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    return parser


def run(args: argparse.Namespace) -> int:
    """Query and write the table."""
    from .._atomic import check_destination
    from ..survey_factory import default_survey, make_survey
    from ..table_io import check_output_format, write_table
    from .options import survey_options

    if args.top is not None and args.preset is None:
        raise AstroCNNError("--top goes with --preset; put the row limit in your own SQL")
    if args.sql_file is not None and not args.sql_file.is_file():
        raise FileNotFoundError(f"--sql-file {str(args.sql_file)!r} is not a file")
    check_output_format(args.output)  # before the query, which may take minutes
    check_destination(args.output, args.overwrite)
    name = args.survey or default_survey()
    survey = make_survey(name, **survey_options(args.survey_option, name))
    try:
        sql = args.sql if args.sql_file is None else args.sql_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"--sql-file {str(args.sql_file)!r} is not UTF-8 text (byte {exc.start})") from None
    options = {"preset": args.preset, "top": args.top, "data_release": args.data_release, "refresh": args.refresh}
    table = survey.query(sql, **{k: v for k, v in options.items() if v not in (None, False)})
    path = write_table(table, args.output, overwrite=args.overwrite)
    print(f"wrote {len(table)} rows to {path}")
    return 0
