"""The ``nbtrack`` command line: ``nbtrack runs [--experiment E] [--filter F] ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nbtrack.errors import NbtrackError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nbtrack", description="Query nbtrack stores.")
    parser.add_argument(
        "--uri", default=None, help="store URL (default: $NBTRACK_URI or sqlite:///nbtrack.db)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    runs = commands.add_parser("runs", help="list runs as a table, CSV or JSON")
    runs.add_argument("--experiment", default="*", help="experiment name (default: all)")
    runs.add_argument("--filter", default=None, help='filter, e.g. "metrics.rmse < 6.5"')
    runs.add_argument("--order-by", default=None, help='e.g. "metrics.rmse ASC"')
    runs.add_argument("--limit", type=int, default=None, help="at most this many runs")
    runs.add_argument("--format", choices=("table", "csv", "json"), default="table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nbtrack`` command.

    >>> main(["runs", "--format", "csv", "--limit", "1"])  # doctest: +SKIP
    """
    args = _parser().parse_args(argv)
    from nbtrack.tracking import Tracker

    tracker = Tracker(args.uri)
    try:
        frame = tracker.runs(args.experiment, args.filter, args.order_by, args.limit)
    except (NbtrackError, ValueError) as error:
        print(f"nbtrack: error: {error}", file=sys.stderr)
        return 2
    finally:
        tracker.close()
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        frame.to_json(sys.stdout, orient="records", date_format="iso", indent=1)
        sys.stdout.write("\n")
    else:
        print(frame.to_string(index=False) if len(frame) else "(no runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
