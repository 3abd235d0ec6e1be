"""Write tests/data/store-<revision>.db: a store of the current schema with varied content.

Run once per schema revision and commit the file; test_upgrade.py opens every
committed fixture with the current code and checks its content is unchanged.

    .venv/bin/python tests/make_fixture_store.py
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from nbtrack.registry import register_model, set_alias
from nbtrack.store.migrate import HEAD
from nbtrack.tracking import Tracker


def main() -> None:
    path = Path(__file__).parent / "data" / f"store-{HEAD}.db"
    if path.exists():
        raise SystemExit(f"{path} exists; fixtures are written once per revision")
    tracker = Tracker(f"sqlite:///{path}")
    tracker.set_experiment("fixture")
    with tracker.start_run(name="sweep", tags={"kind": "parent"}) as sweep:
        for i in range(3):
            params = {
                "alpha": 0.1 * (i + 1),
                "model": ["lasso", "ridge", "xgb"][i],
                "layers": [i, 2],
            }
            with tracker.start_run(name=f"trial-{i}", params=params, parent=sweep) as run:
                for step in range(5):
                    run.log(step=step, loss=1 / (step + 1 + i))
                run.log_metrics({"rmse": 6.0 - i, "nan": math.nan, "inf": math.inf})
                run.set_tag("ünïcode", "<b>ok</b>")
    # Revision 0002: an artifact, a model and a registered version with an alias.
    # Own experiment, so "fixture" keeps its 5 runs; blobs go to a temp folder (the
    # upgrade test checks rows, not bytes).
    os.environ["NBTRACK_ARTIFACTS"] = tempfile.mkdtemp(prefix="nbtrack-fixture-")
    with tracker.start_run(
        name="model-run", params={"alpha": 0.5}, experiment="fixture-models"
    ) as model_run:
        model_run.log_text("ünïcode <b>notes</b>", "notes/readme.md")
        model_run.log_model({"weights": [1.0, 2.0]}, "model")
        model_run.log_metric("rmse", 5.5)
    register_model(tracker, model_run, "fixture-model", description="first")
    set_alias(tracker, "fixture-model", "champion", 1)
    try:
        with tracker.start_run(name="failed"):
            raise ValueError("boom")
    except ValueError:
        pass
    tracker.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
