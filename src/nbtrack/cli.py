"""The ``nbtrack`` command line: ``nbtrack runs …`` and ``nbtrack gc``."""

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
    gc = commands.add_parser("gc", help="find (and with --delete remove) unreferenced artifacts")
    gc.add_argument(
        "--delete", action="store_true", help="remove them (default: only print what would go)"
    )
    gc.add_argument(
        "--min-age",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="keep blobs younger than this, which a write in progress may need (3600)",
    )
    gc.add_argument(
        "--artifacts",
        default=None,
        metavar="ROOT",
        help="artifact root (default: $NBTRACK_ARTIFACTS or nbtrack-artifacts/ beside the store)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nbtrack`` command.

    >>> main(["runs", "--format", "csv", "--limit", "1"])  # doctest: +SKIP
    """
    args = _parser().parse_args(argv)
    if args.command == "gc":
        return _gc(args)
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


def _gc(args: argparse.Namespace) -> int:
    """``nbtrack gc``: report (or delete) artifact blobs that no run refers to."""
    import os

    from nbtrack.artifacts import ARTIFACTS_ENV
    from nbtrack.tracking import Tracker
    from nbtrack.tracking.artifacts import collect_garbage

    if args.artifacts:
        os.environ[ARTIFACTS_ENV] = args.artifacts
    tracker = Tracker(args.uri)
    try:
        report = collect_garbage(tracker, delete=args.delete, min_age_s=args.min_age)
    except (NbtrackError, ValueError, OSError) as error:
        print(f"nbtrack: error: {error}", file=sys.stderr)
        return 2
    finally:
        tracker.close()
    verb = "deleted" if report.delete else "would delete"
    for digest, size in report.blobs:
        print(f"{verb} blob sha256:{digest} ({size} bytes)")
    for path, size in report.temp_files:
        print(f"{verb} leftover temp file {path} ({size} bytes)")
    count = len(report.blobs) + len(report.temp_files)
    mib = report.freed_bytes / 2**20
    freed = "freed" if report.delete else "would free"
    print(f"{freed} {report.freed_bytes} bytes ({mib:.1f} MiB) in {count} file(s);", end=" ")
    print(f"{report.kept} blob(s) kept")
    if not report.delete and count:
        print("run `nbtrack gc --delete` to remove them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
