"""``%%track`` and the line magics in a real IPython shell (SPEC §3)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from IPython.core.error import UsageError

import nbtrack
from nbtrack.tracking import Tracker


def track(ip, line: str, cell: str):  # type: ignore[no-untyped-def]
    ip.run_cell_magic("track", line, cell)
    return nbtrack.last_run()


def test_literals_become_params_and_numbers_metrics(ip, tracker: Tracker) -> None:
    run = track(
        ip,
        "demo",
        "alpha = 0.1\ndepth = -3\nname = 'lasso'\nlayers = [64, 32]\nflag = True\n"
        "rmse = alpha * 10\nmae: float = alpha * 20\nn = 0\nn += 5\nnote = str(rmse)\n"
        "for i in range(3):\n    inner = i\n",
    )
    assert run.experiment == "demo"
    assert run.status == "FINISHED"
    assert run.params == {
        "alpha": 0.1,
        "depth": -3,
        "name": "lasso",
        "layers": [64, 32],
        "flag": True,
    }
    assert run.metrics == {"rmse": 1.0, "mae": 2.0, "n": 5.0}
    assert "alpha = 0.1" in run.source
    assert run.meta["execution_count"] == ip.execution_count


def test_explicit_params_and_metrics_options(ip, tracker: Tracker) -> None:
    run = track(ip, "-p alpha -m rmse", "alpha = 0.1\nbeta = 2\nrmse = 3.5\nmae = 1.0\n")
    assert run.params == {"alpha": 0.1}
    assert run.metrics == {"rmse": 3.5}


def test_name_tags_quiet_and_parent(ip, tracker: Tracker, capsys) -> None:  # type: ignore[no-untyped-def]
    parent = track(ip, "sweep -n the-sweep --quiet", "x = 1\n")
    assert capsys.readouterr().out == ""
    child = track(
        ip, f"sweep -n trial -t team=a -t 'stage=dev run' --parent {parent.id}", "y = 2\n"
    )
    assert child.name == "trial"
    assert child.tags == {"team": "a", "stage": "dev run"}
    assert nbtrack.get_run(child.id).parent_id == parent.id
    out = capsys.readouterr().out
    assert "trial" in out and "FINISHED" in out


def test_quiet_by_config(ip, tracker: Tracker, capsys) -> None:  # type: ignore[no-untyped-def]
    ip.run_line_magic("config", "TrackMagics.quiet = True")
    track(ip, "", "x = 1\n")
    assert capsys.readouterr().out == ""


def test_logging_calls_inside_the_cell_go_to_its_run(ip, tracker: Tracker) -> None:
    run = track(
        ip,
        "",
        "import nbtrack\nnbtrack.log_param('lr', 0.01)\nfor step in range(3):\n"
        "    nbtrack.log(step=step, loss=1 / (step + 1))\nnbtrack.set_tag('k', 'v')\n",
    )
    assert run.params == {"lr": 0.01}
    assert run.metrics == {"loss": pytest.approx(1 / 3)}
    assert run.tags == {"k": "v"}
    assert nbtrack.metric_history(run.id, "loss")["step"].tolist() == [0, 1, 2]
    assert nbtrack.active_run() is None


def test_failing_cell_is_failed_and_the_error_reaches_the_user(ip, tracker: Tracker) -> None:
    ip.run_cell("rmse = 99.0")  # an earlier cell's value must not be taken as this run's
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        ip.run_cell_magic("track", "", "alpha = 0.3\nrmse = 1 / 0\n")
    run = nbtrack.last_run()
    assert run.status == "FAILED"
    assert run.meta["error"] == "ZeroDivisionError: division by zero"
    assert run.params == {"alpha": 0.3}
    assert run.metrics == {}


def test_keyboard_interrupt_marks_killed(ip, tracker: Tracker) -> None:
    with pytest.raises(KeyboardInterrupt):
        ip.run_cell_magic("track", "", "x = 1\nraise KeyboardInterrupt\n")
    assert nbtrack.last_run().status == "KILLED"


def test_bad_arguments_give_usage_error_and_run_nothing(ip, tracker: Tracker) -> None:
    ip.user_ns.pop("ran", None)
    for line in ("--no-such-option", "-t notakeyvalue", "-p 1bad", f"--parent {'0' * 32}", "a b"):
        with pytest.raises(UsageError):
            ip.run_cell_magic("track", line, "ran = True\n")
    assert "ran" not in ip.user_ns
    assert nbtrack.runs(experiment="*").empty


def test_default_experiment_is_the_notebook_name(ip, tracker: Tracker) -> None:
    ip.user_ns["__session__"] = "/home/me/work/taxi duration.ipynb"
    run = track(ip, "", "x = 1\n")
    assert run.experiment == "taxi duration"
    assert run.meta["notebook"] == "/home/me/work/taxi duration.ipynb"
    ip.run_line_magic("track_experiment", "explicit")
    assert track(ip, "", "x = 1\n").experiment == "explicit"
    assert ip.run_line_magic("track_experiment", "") == "explicit"


def test_track_connect_switches_store(ip, tracker: Tracker, tmp_path: Path) -> None:
    url = ip.run_line_magic("track_connect", f"sqlite:///{tmp_path / 'second.db'}")
    assert url.endswith("second.db")
    run = track(ip, "", "x = 1\n")
    assert (tmp_path / "second.db").exists()
    assert nbtrack.get_run(run.id).params == {"x": 1}


def test_data_fingerprints_of_file_params(ip, tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("a,b\n1,2\n")
    run = track(ip, "", "data = 'train.csv'\nmissing = 'nope.csv'\n")
    datasets = run.meta["datasets"]
    assert set(datasets) == {"data"}
    assert datasets["data"]["size"] == 8
    assert datasets["data"]["sha256"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()


def test_git_state_is_recorded(ip, tracker: Tracker, tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
            env={
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@t",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@t",
                "HOME": str(tmp_path),
                "PATH": "/usr/bin:/bin",
            },
        ).stdout.strip()

    git("init", "-q", "-b", "exp")
    (tmp_path / "a.txt").write_text("1")
    git("add", "a.txt")
    git("commit", "-q", "-m", "c")
    commit = git("rev-parse", "HEAD")
    clean = track(ip, "", "x = 1\n")
    assert (clean.meta["git_commit"], clean.meta["git_branch"], clean.meta["git_dirty"]) == (
        commit,
        "exp",
        False,
    )
    (tmp_path / "a.txt").write_text("2")
    assert track(ip, "", "x = 1\n").meta["git_dirty"] is True


def test_imported_packages_are_recorded(ip, tracker: Tracker) -> None:
    run = track(ip, "", "import pandas\nx = 1\n")
    assert run.meta["packages"]["pandas"] == __import__("pandas").__version__


def test_summary_line_is_escaped_html_with_text_twin(ip, tracker: Tracker) -> None:
    from nbtrack.display import RunSummary

    run = track(ip, "-n '<script>alert(1)</script>'", "rmse = 1.5 * 1\n")
    stored = nbtrack.get_run(run.id)
    summary = RunSummary(
        stored.id,
        stored.name,
        stored.experiment,
        stored.status,
        0.5,
        stored.params,
        stored.metrics,
        (2, 2),
        "rmse",
    )
    html = summary._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "#2/2 by rmse" in repr(summary) and "rmse=1.5" in repr(summary)


def test_rank_shown_after_the_cell(ip, tracker: Tracker, capsys) -> None:  # type: ignore[no-untyped-def]
    for value in (3, 1):
        track(ip, "rank", f"rmse = float({value})\n")
    capsys.readouterr()
    track(ip, "rank", "rmse = float(2)\n")
    assert "#2/3 by rmse" in capsys.readouterr().out


def test_extension_can_be_unloaded_and_reloaded(session_ip) -> None:  # type: ignore[no-untyped-def]
    session_ip.run_line_magic("unload_ext", "nbtrack")
    assert "track" not in session_ip.magics_manager.magics["cell"]
    session_ip.run_line_magic("load_ext", "nbtrack")
    assert "track" in session_ip.magics_manager.magics["cell"]
