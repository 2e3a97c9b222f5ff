"""``astro-cnn query``: run an SDSS SkyServer SQL query or a named sample preset and write the table."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..exceptions import AstroCNNError

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``query`` sub-command."""
    parser = subparsers.add_parser(
        "query", help="query the SDSS catalogue (SQL or a paper's sample preset)",
        description="Run a SkyServer SQL query through astroquery, or a named sample selection "
                    "(wu2019: Wu & Boada 2019 MPA-JHU galaxies; pasquet2019: DR12 Main Galaxy Sample), and "
                    "write the result with units. Answers are cached, so a repeated query needs no network.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--preset", help="named sample selection: wu2019 or pasquet2019")
    what.add_argument("--sql", help="SQL text")
    what.add_argument("--sql-file", type=Path, help="file holding the SQL text")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output table file (format from suffix)")
    parser.add_argument("--top", type=int, help="with --preset: at most this many rows")
    parser.add_argument("--data-release", type=int, help="SDSS data release (default: the preset's or 17)")
    parser.add_argument("--offline", action="store_true", help="only use cached answers")
    parser.add_argument("--refresh", action="store_true", help="ask the service even if the answer is cached")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    return parser


def run(args: argparse.Namespace) -> int:
    """Query and write the table."""
    from astro_cnn_sdss.catalog import preset_sql, query_sql

    from ..table_io import write_table

    if args.top is not None and args.preset is None:
        raise AstroCNNError("--top goes with --preset; put TOP n in your own SQL")
    if args.preset is not None:
        try:
            sql = preset_sql(args.preset, top=args.top)
        except KeyError as exc:
            raise AstroCNNError(str(exc.args[0])) from None
    else:
        sql = args.sql if args.sql is not None else args.sql_file.read_text()
    table = query_sql(sql, data_release=args.data_release, preset=args.preset, offline=args.offline or None,
                      refresh=args.refresh)
    path = write_table(table, args.output, overwrite=args.overwrite)
    print(f"wrote {len(table)} rows to {path}")
    return 0
