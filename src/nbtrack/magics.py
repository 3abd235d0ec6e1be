"""The IPython glue: ``%%track``, ``%track_connect``, ``%track_experiment``, ``%track_compare``,
``%track_models``.

The only module (with the extension hook in ``__init__``) that imports IPython.
A tracked cell runs through ``shell.run_cell`` so IPython shows its output and
any traceback exactly as usual; the run's status comes from the result.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool

from nbtrack.capture import CellAnalysis, analyse_cell, parse_name_list, select_values
from nbtrack.display import RunSummary, higher_is_better
from nbtrack.errors import NbtrackError, RunNotFoundError
from nbtrack.store.store import FAILED, FINISHED, KILLED
from nbtrack.tracking import ActiveRun, Tracker, default_tracker
from nbtrack.tracking.run import error_text


@magics_class
class TrackMagics(Magics):
    """Magics of nbtrack; settings via ``%config TrackMagics.<name> = ...``."""

    quiet = Bool(False, help="Do not show the summary line after a %%track cell.").tag(config=True)

    def __init__(self, shell: InteractiveShell, tracker: Tracker | None = None) -> None:
        super().__init__(shell)
        self._tracker = tracker

    @property
    def _shell(self) -> InteractiveShell:
        assert self.shell is not None, "TrackMagics used without a shell"
        return self.shell

    @property
    def tracker(self) -> Tracker:
        """The tracker given at creation, else the process default."""
        return self._tracker or default_tracker()

    # -- %%track ------------------------------------------------------------------------------

    @magic_arguments()
    @argument(
        "experiment", nargs="?", default=None, help="Experiment of the run (default: current)."
    )
    @argument("-n", "--name", default=None, help="Name of the run (default: a generated one).")
    @argument(
        "-t",
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Set a tag on the run; repeat for several.",
    )
    @argument(
        "-p", "--params", default=None, metavar="NAMES", help="Only these names are params: a,b."
    )
    @argument(
        "-m",
        "--metrics",
        default=None,
        metavar="NAMES",
        help="Only these names are metrics: rmse,mae.",
    )
    @argument("--parent", default=None, metavar="RUN", help="Id of the parent run (for sweeps).")
    @argument("--quiet", action="store_true", help="Do not show the summary line.")
    @cell_magic
    def track(self, line: str, cell: str) -> None:
        """Run the cell as one tracked run: params, metrics, source and environment.

        ::

            %%track nyc-taxi -n baseline -t team=pricing
            alpha = 0.1
            rmse = train(alpha)
        """
        args = parse_argstring(self.track, line)
        tags = _parse_tags(args.tag)
        try:
            explicit_params = parse_name_list(args.params) if args.params is not None else None
            explicit_metrics = parse_name_list(args.metrics) if args.metrics is not None else None
        except ValueError as bad_names:
            raise UsageError(str(bad_names)) from None
        self._use_notebook_experiment()
        if args.parent is not None:
            try:
                self.tracker.get_run(args.parent)
            except RunNotFoundError:
                raise UsageError(f"--parent: no run with id {args.parent!r}") from None
        analysis = analyse_cell(cell)
        before = {
            name: id(self._shell.user_ns[name])
            for name in _names(analysis)
            if name in self._shell.user_ns
        }
        run = self.tracker.start_run(
            name=_unquote(args.name),
            tags=tags,
            parent=args.parent,
            experiment=_unquote(args.experiment),
            source=cell,
            meta={
                "notebook": notebook_path(self._shell),
                "execution_count": self._shell.execution_count,
            },
        )
        error: BaseException | None = None
        try:
            result = self._shell.run_cell(cell, store_history=False)
            error = result.error_before_exec or result.error_in_exec
        except KeyboardInterrupt as interrupt:  # arrived between IPython's own handlers
            error = interrupt
        finally:
            status = (
                FINISHED
                if error is None
                else KILLED
                if isinstance(error, KeyboardInterrupt)
                else FAILED
            )
            summary = self._finish(
                run, status, error, analysis, before, explicit_params, explicit_metrics
            )
        if summary is not None and not (args.quiet or self.quiet):
            display(summary)
        if error is not None:
            # IPython already showed the traceback; fail the cell without showing it twice.
            _hide_traceback(error, f"nbtrack: run {run.name} [{run.id[:8]}] recorded as {status}")
            raise error

    def _finish(
        self,
        run: ActiveRun,
        status: str,
        error: BaseException | None,
        analysis: CellAnalysis,
        before: dict[str, int],
        explicit_params: tuple[str, ...] | None,
        explicit_metrics: tuple[str, ...] | None,
    ) -> RunSummary | None:
        namespace = self._shell.user_ns
        if error is not None:
            # Only names this cell actually (re)bound: an earlier cell's `rmse` is not this run's.
            namespace = {
                name: value
                for name, value in namespace.items()
                if name in _names(analysis) and before.get(name) != id(value)
            }
        selection = select_values(namespace, analysis, explicit_params, explicit_metrics)
        try:
            if selection.params:
                run.log_params(selection.params)
            if selection.metrics:
                run.log_metrics(selection.metrics)
        finally:
            run.end(status, None if error is None else error_text(error))
        metrics = run.latest_metrics
        rank_metric = next(iter(selection.metrics), None) or next(iter(metrics), None)
        rank = None
        if rank_metric is not None and not math.isnan(metrics[rank_metric]):
            experiment_id = self.tracker.store.experiment_id(run.experiment) or 0
            rank = self.tracker.store.rank(
                experiment_id,
                rank_metric,
                metrics[rank_metric],
                higher_is_better=higher_is_better(rank_metric),
            )
        duration = None if run.end_time is None else run.end_time - run.start_time
        return RunSummary(
            run.id,
            run.name,
            run.experiment,
            run.final_status or status,
            duration,
            run.logged_params,
            metrics,
            rank,
            rank_metric,
            selection.warnings,
        )

    def _use_notebook_experiment(self) -> None:
        path = notebook_path(self._shell)
        if path:
            self.tracker.default_experiment = os.path.splitext(os.path.basename(path))[0]

    # -- line magics ----------------------------------------------------------------------------

    @magic_arguments()
    @argument("uri", help="SQLAlchemy URL of the store, e.g. sqlite:///runs.db")
    @line_magic
    def track_connect(self, line: str) -> str:
        """Use another store: ``%track_connect sqlite:///runs.db``."""
        args = parse_argstring(self.track_connect, line)
        try:
            return self.tracker.connect(args.uri)
        except (NbtrackError, ValueError) as error:
            raise UsageError(str(error)) from None

    @magic_arguments()
    @argument("name", nargs="?", default=None, help="Experiment to make current.")
    @line_magic
    def track_experiment(self, line: str) -> str:
        """Set (or show) the current experiment: ``%track_experiment nyc-taxi``."""
        args = parse_argstring(self.track_experiment, line)
        if args.name is None:
            self._use_notebook_experiment()
            return self.tracker.experiment
        try:
            return self.tracker.set_experiment(args.name)
        except (NbtrackError, ValueError, TypeError) as error:
            raise UsageError(str(error)) from None

    @magic_arguments()
    @argument(
        "experiment", nargs="?", default=None, help="Experiment to compare (default: current)."
    )
    @argument("--filter", default=None, metavar="F", help="Filter in the query grammar.")
    @argument("--color", default=None, metavar="METRIC", help="Metric that colours the plots.")
    @argument("--static", action="store_true", help="Static figures instead of widgets.")
    @line_magic
    def track_compare(self, line: str) -> Any:
        """Compare runs inline: ``%track_compare --color rmse --filter "status = 'FINISHED'"``."""
        args = parse_argstring(self.track_compare, line)
        self._use_notebook_experiment()
        from nbtrack.panels import compare

        try:
            return compare(
                experiment=args.experiment,
                filter=_unquote(args.filter),
                color=args.color,
                static=True if args.static else None,
                tracker=self.tracker,
            )
        except ValueError as error:
            raise UsageError(str(error)) from None

    @magic_arguments()
    @argument("name", nargs="?", default=None, help="Only this registered model.")
    @argument(
        "--limit", type=int, default=10, metavar="N", help="Newest N versions per model (10)."
    )
    @argument("--all", action="store_true", help="Every version of every model.")
    @line_magic
    def track_models(self, line: str) -> Any:
        """The model registry as a table with lineage: ``%track_models duration-model``."""
        args = parse_argstring(self.track_models, line)
        from nbtrack.registry._view import RegistryView
        from nbtrack.store import registry as tables

        store = self.tracker.store
        name = _unquote(args.name)
        try:
            models = [m for m in tables.models(store) if name is None or m.name == name]
            if name is not None and not models:
                raise UsageError(f"no registered model {name!r}")
            versions = tables.versions(store, name)
        except NbtrackError as error:
            raise UsageError(str(error)) from None
        return RegistryView(models, versions, None if args.all else max(args.limit, 1))


def _names(analysis: CellAnalysis) -> set[str]:
    return set(analysis.params) | set(analysis.metrics)


def _parse_tags(items: list[str]) -> dict[str, str]:
    tags = {}
    for item in items:
        key, sep, value = (_unquote(item) or "").partition("=")
        if not sep or not key:
            raise UsageError(f"-t expects KEY=VALUE, got {item!r}")
        tags[key] = value
    return tags


def _unquote(text: str | None) -> str | None:
    if text is not None and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _hide_traceback(error: BaseException, notice: str) -> None:
    # Exceptions with __slots__ refuse the attribute: their traceback then shows twice.
    with contextlib.suppress(AttributeError):
        error._render_traceback_ = lambda: [notice]  # type: ignore[attr-defined]


def notebook_path(shell: InteractiveShell) -> str | None:
    """Path of the notebook this kernel runs, when the front end says so."""
    for name in ("__session__", "__vsc_ipynb_file__"):
        value = shell.user_ns.get(name)
        if isinstance(value, str) and value.endswith(".ipynb"):
            return value
    session = os.environ.get("JPY_SESSION_NAME")
    return session if session and session.endswith(".ipynb") else None


def register(shell: InteractiveShell) -> None:
    """Register the magics on ``shell`` (what ``%load_ext nbtrack`` does)."""
    from nbtrack.tracking import metadata

    shell.register_magics(TrackMagics(shell))
    metadata.warm_up()


def unregister(shell: InteractiveShell) -> None:
    """Remove the magics again (``%unload_ext nbtrack``)."""
    for kind, names in (
        ("cell", ["track"]),
        ("line", ["track_connect", "track_experiment", "track_compare", "track_models"]),
    ):
        for name in names:
            shell.magics_manager.magics[kind].pop(name, None)
