"""What a person sees: `%track_compare` in JupyterLab, in a real headless Chromium.

Starts JupyterLab on 127.0.0.1 with a token and a clean config, opens a
notebook that tracks a few dozen runs and calls ``%track_compare``, runs it,
and checks that every tab draws its plot (plotly's DOM, trace counts), that
the shared selection reaches the History tab, how long the panel takes to
appear, and how much the saved notebook grows. Screenshots go to
``test-output/browser/``. Uses Debian's chromium (never ``playwright install``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
OUTPUT = Path(os.environ.get("NBTRACK_TEST_OUTPUT", ROOT / "test-output")) / "browser"
N_RUNS = 36
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    for module in ("playwright", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            return f"python package {module!r} not installed (pip install {module})"
    return None


SWEEP = f"""\
import numpy as np
import nbtrack as nt
nt.set_experiment("browser-sweep")
rng = np.random.default_rng(7)
for i in range({N_RUNS}):
    lr = float(10 ** rng.uniform(-4, -1))
    depth = int(rng.integers(2, 9))
    model = ["xgboost", "lightgbm", "<script>alert('x')</script>"][i % 3]
    with nt.start_run(name=f"trial-{{i:02d}}", params={{"lr": lr, "depth": depth,
                      "model": model, "seed": 0}}) as run:
        for step in range(12):
            run.log(step=step, loss=(np.log10(lr) + 2.5) ** 2 + depth / 10 + 1 / (step + 1))
        run.log_metric("rmse", (np.log10(lr) + 2.5) ** 2 + depth / 10 + rng.normal(0, 0.05))
        run.log_metric("mae", float(rng.uniform(0.1, 1.0)))
"""


def _notebook(path: Path) -> None:
    cells = ["%load_ext nbtrack", SWEEP, "%track_compare --color rmse"]
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": src,
                "outputs": [],
                "execution_count": None,
            }
            for src in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(config: Path) -> None:
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        # every cell rendered (no virtual scrolling), so the panel is really drawn
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        # save widget state into the notebook: the worst case for its size
        "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
    }
    for rel, value in files.items():
        path = config / "lab" / "user-settings" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    root.mkdir()
    _notebook(root / "compare.ipynb")
    config = tmp_path / "config"
    _settings(config)
    port, token = _free_port(), "nbtrack-browser-test"
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        NBTRACK_URI=f"sqlite:///{tmp_path / 'runs.db'}",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
    )
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.token={token}",
            "--allow-root",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()}")
                time.sleep(0.3)
        yield {"url": url, "token": token, "root": root}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _shot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.locator(".nbtrack-panel").first.screenshot(path=str(OUTPUT / f"{name}.png"))


def _open_tab(page: Any, title: str) -> Any:
    page.locator(".nbtrack-panel .lm-TabBar-tab", has_text=title).first.click()
    return page.locator(
        ".nbtrack-panel .widget-tab-contents > .lm-Widget:not(.lm-mod-hidden)"
    ).first


def test_compare_panel_in_jupyterlab(lab: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {}
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{lab['url']}/lab/tree/compare.ipynb?token={lab['token']}")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext",
            timeout=60_000,
        )
        page.wait_for_function(
            "() => { const s = window.jupyterapp.shell.currentWidget.sessionContext.session;"
            " return s && s.kernel && s.kernel.status === 'idle'; }",
            timeout=60_000,
        )
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
            ".every(p => /\\[\\d+\\]/.test(p.textContent))",
            timeout=120_000,
        )
        t_reply = time.monotonic()
        # the panel: status line, then the table's rows (first tab)
        page.wait_for_selector(".nbtrack-panel .nbt-table tbody tr", timeout=30_000)
        results["panel_visible_s"] = time.monotonic() - t_reply
        rows = page.locator(".nbtrack-panel .nbt-table tbody tr")
        assert rows.count() == 25  # first page of 36 runs
        assert page.locator(".nbtrack-panel .nbt-table tr.nbt-best").count() == 1
        status = page.locator(".nbtrack-panel .widget-html").first.inner_text()
        assert f"{N_RUNS} runs" in status and "best: trial-" in status
        assert page.locator(".nbtrack-panel script").count() == 0  # names stay text
        assert "<script>alert('x')</script>" in page.locator(".nbt-table").inner_text()
        _shot(page, "1-runs")

        pane = _open_tab(page, "Parallel coordinates")
        pane.locator(".js-plotly-plot .parcoords").first.wait_for(timeout=30_000)
        results["first_plot_s"] = time.monotonic() - t_reply
        page.wait_for_timeout(300)
        dims = pane.locator(".js-plotly-plot g.axis-title, .js-plotly-plot text.axis-title")
        assert dims.count() == 6  # lr, depth, model, loss, mae, rmse: constant seed left out
        assert pane.locator(".js-plotly-plot canvas").count() > 0
        labels = dims.evaluate_all("els => els.map(e => e.textContent)")
        assert labels[-1] == "rmse" and "model" in labels  # colour metric is the last axis
        _shot(page, "2-parallel")
        results["plotly_eval_s"] = page.evaluate("() => globalThis.__nbtrack_plotly_ms") / 1000

        pane = _open_tab(page, "Scatter")
        pane.locator(".js-plotly-plot .scatterlayer .point").first.wait_for(timeout=30_000)
        page.wait_for_timeout(300)
        traces = pane.locator(".js-plotly-plot .scatterlayer .trace")
        assert traces.count() == 2  # runs + best star
        assert traces.nth(0).locator(".point").count() == N_RUNS
        assert pane.locator(".js-plotly-plot .xtitle").text_content() == "lr"
        _shot(page, "3-scatter")

        pane = _open_tab(page, "Contour")
        pane.locator(".js-plotly-plot .contourlevel").first.wait_for(timeout=30_000)
        page.wait_for_timeout(300)
        assert pane.locator(".js-plotly-plot .contourlevel").count() > 3
        assert pane.locator(".js-plotly-plot .scatterlayer .point").count() == N_RUNS
        _shot(page, "4-contour")

        pane = _open_tab(page, "History")
        pane.locator(".js-plotly-plot .scatterlayer .trace").first.wait_for(timeout=30_000)
        page.wait_for_timeout(300)
        assert pane.locator(".js-plotly-plot .scatterlayer .trace").count() == 20  # best 20
        _shot(page, "5-history")
        results["all_tabs_s"] = time.monotonic() - t_reply

        # shared selection: pick two runs in the table, History draws exactly those
        _open_tab(page, "Runs")
        rows.nth(0).click()
        rows.nth(3).click()
        page.wait_for_selector(".nbtrack-panel .nbt-table tr.nbt-sel >> nth=1", timeout=10_000)
        pane = _open_tab(page, "History")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.nbtrack-panel .js-plotly-plot')].some("
            "g => g.offsetParent && g.querySelectorAll('.scatterlayer .trace').length === 2)",
            timeout=15_000,
        )
        _shot(page, "6-history-selected")
        pane = _open_tab(page, "Scatter")
        page.wait_for_timeout(500)
        assert pane.locator(".js-plotly-plot .scatterlayer .trace").count() == 3  # + ring

        # save with widget state and measure what the panel adds to the notebook
        before = (lab["root"] / "compare.ipynb").stat().st_size
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        deadline = time.monotonic() + 30
        while (lab["root"] / "compare.ipynb").stat().st_size == before:
            assert time.monotonic() < deadline, "notebook was not saved"
            time.sleep(0.2)
        time.sleep(1.0)
        saved = json.loads((lab["root"] / "compare.ipynb").read_text())
        state = saved["metadata"].get("widgets", {})
        results["saved_notebook_mb"] = (lab["root"] / "compare.ipynb").stat().st_size / 1e6
        results["widget_state_mb"] = len(json.dumps(state)) / 1e6
        browser.close()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "figures.json").write_text(json.dumps(results, indent=2))
    print("browser figures:", results)
    bad = [e for e in errors if "schema" not in e]
    assert not bad, bad
    assert results["panel_visible_s"] <= 5.0
    assert results["first_plot_s"] <= 5.0
    assert results["saved_notebook_mb"] <= 6.0
