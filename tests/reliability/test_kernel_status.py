"""Issue 6: a real Jupyter kernel running ``%%track`` cells ends them with the right status.

Clean cell: FINISHED; a cell that raises: FAILED; an interrupted cell: KILLED;
a cell that calls ``exit()``: FINISHED and the kernel exits; a kernel
SIGKILLed mid-cell: CRASHED at the next open of the store, with what the cell
had logged. And two processes reaping the same dead runs make one transition each.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager, start_new_kernel

from nbtrack.store import Store
from nbtrack.tracking import Tracker

pytestmark = pytest.mark.slow

TIMEOUT = 60


def _start_kernel(uri: str, cwd: Path) -> tuple[KernelManager, Any]:
    env = {**os.environ, "NBTRACK_URI": uri}
    env.pop("NBTRACK_NO_AUTOLOAD", None)
    return start_new_kernel(startup_timeout=TIMEOUT, kernel_name="python3", env=env, cwd=str(cwd))


def _run(kc: Any, code: str, *, until: str | None = None) -> dict[str, Any]:
    """Execute ``code``; with ``until``, return as soon as that text is printed."""
    msg_id = kc.execute(textwrap.dedent(code).strip())
    output = ""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            output += msg["content"]["text"]
            if until is not None and until in output:
                return {"output": output, "msg_id": msg_id}
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    else:
        raise AssertionError(f"cell did not finish: {code!r}; output so far {output!r}")
    return {"output": output, **_reply(kc, msg_id)}


def _reply(kc: Any, msg_id: str) -> dict[str, Any]:
    while True:  # skip replies to earlier requests (kernel_info while starting)
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        if reply["parent_header"].get("msg_id") == msg_id:
            return dict(reply["content"])


def test_kernel_cells_end_finished_failed_killed_crashed(store_uri: str, tmp_path: Path) -> None:
    started = time.monotonic()
    km, kc = _start_kernel(store_uri, tmp_path)
    try:
        # The autoload startup file gives the kernel %%track with no set-up line.
        reply = _run(kc, "print('track' in get_ipython().magics_manager.magics['cell'])")
        assert reply["status"] == "ok" and reply["output"].strip() == "True", reply

        reply = _run(
            kc,
            """
            %%track k -n clean --quiet
            alpha = 0.5
            rmse = alpha * 2
            """,
        )
        assert reply["status"] == "ok", reply

        reply = _run(
            kc,
            """
            %%track k -n broken --quiet
            alpha = 0.25
            rmse = 1 / 0
            """,
        )
        assert reply["status"] == "error" and reply["ename"] == "ZeroDivisionError", reply

        running = _run(
            kc,
            """
            %%track k -n interrupted --quiet
            import time, nbtrack
            nbtrack.log_metric("loss", 0.75)
            print("sleeping", flush=True)
            time.sleep(60)
            """,
            until="sleeping",
        )
        km.interrupt_kernel()
        reply = _reply(kc, running["msg_id"])
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
        reply = _run(kc, "print(1 + 1)")  # the kernel carries on
        assert reply["output"].strip() == "2"

        _run(
            kc,
            """
            %%track k -n doomed --quiet
            import time, nbtrack
            nbtrack.log_param("lr", 0.01)
            for step in range(5):
                nbtrack.log_metric("loss", 1 / (step + 1), step=step)
            nbtrack.get_run(nbtrack.active_run().id)  # a read writes what is pending
            print("logged", flush=True)
            time.sleep(60)
            """,
            until="logged",
        )
        km.signal_kernel(signal.SIGKILL)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)  # waits for the process: it is dead, not a zombie

    km, kc = _start_kernel(store_uri, tmp_path)
    try:
        _run(kc, "import nbtrack\nopen_run = nbtrack.start_run(name='left-open', experiment='k')")
        kc.execute("%%track k -n exits --quiet\nbeta = 3\nexit()")
        deadline = time.monotonic() + TIMEOUT
        while km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not km.is_alive(), "exit() in a cell did not end the kernel"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    reader = Tracker(store_uri)  # opening the store reaps the SIGKILLed kernel's run
    try:
        frame = reader.runs(experiment="k")
        runs = {
            name: reader.get_run(run_id)
            for name, run_id in zip(frame["run_name"], frame["run_id"], strict=True)
        }
        order = ["clean", "broken", "interrupted", "doomed", "left-open", "exits"]
        statuses = {name: runs[name].status for name in sorted(runs, key=order.index)}
        assert statuses == {
            "clean": "FINISHED",
            "broken": "FAILED",
            "interrupted": "KILLED",
            "doomed": "CRASHED",
            "left-open": "FINISHED",
            "exits": "FINISHED",
        }
        assert runs["clean"].params == {"alpha": 0.5} and runs["clean"].metrics == {"rmse": 1.0}
        assert runs["broken"].params == {"alpha": 0.25} and runs["broken"].metrics == {}
        assert "ZeroDivisionError" in runs["broken"].meta["error"]
        assert runs["interrupted"].metrics == {"loss": 0.75}
        assert "KeyboardInterrupt" in runs["interrupted"].meta["error"]
        assert runs["doomed"].params == {"lr": 0.01}
        assert runs["doomed"].metrics == {"loss": pytest.approx(0.2)}
        assert len(reader.metric_history(runs["doomed"].id, "loss")) == 5
        assert runs["doomed"].meta["end_time"] is not None
        assert runs["exits"].params == {"beta": 3}
        assert runs["exits"].parent_id == runs["left-open"].id
    finally:
        reader.close()
    backend = store_uri.split(":", 1)[0]
    print(
        f"{backend}: real kernel: clean/raise/interrupt/exit()/SIGKILL cells -> "
        + ", ".join(f"{k} {v}" for k, v in statuses.items())
        + f" in {time.monotonic() - started:.1f} s"
    )


DEAD_OWNER = """
    import sys
    from nbtrack.tracking import Tracker

    tracker = Tracker()
    count = int(sys.argv[1])
    ids = [tracker.start_run(name=f"orphan-{i}", experiment="reap").id for i in range(count)]
    print(" ".join(ids), flush=True)
    sys.stdin.readline()  # killed while waiting here
"""

REAPERS = """
    import os, sys, time, traceback
    from nbtrack.store import Store
    from nbtrack.tracking import metadata

    gate_out, gate_in = os.pipe()
    children = []
    for reaper in range(int(sys.argv[1])):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(gate_in)
                store = Store(os.environ["NBTRACK_URI"])  # opened first: the reaps really race
                os.read(gate_out, 1)
                stale = time.time() - 900

                def slow_alive(pid, start):
                    # Slow enough that both reapers list every dead run before
                    # either marks one: the conditional update has to decide.
                    time.sleep(0.01)
                    return metadata.process_alive(pid, start)

                reaped = store.reap_crashed(metadata.host(), slow_alive, stale)
                store.close()
                os.write(1, ("reaped " + " ".join(reaped) + "\\n").encode())
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        children.append(pid)
    os.close(gate_out)
    time.sleep(0.3)
    os.close(gate_in)  # both at once
    for pid in children:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
"""


def test_two_processes_reaping_the_same_dead_runs_make_one_transition(
    store_uri: str, tmp_path: Path
) -> None:
    env = {**os.environ, "NBTRACK_URI": store_uri}
    Store(store_uri).close()
    rounds, orphans_per_round = 3, 20
    total, splits = 0, []
    for _ in range(rounds):
        owner = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(DEAD_OWNER), str(orphans_per_round)],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert owner.stdout is not None
        orphans = set(owner.stdout.readline().split())
        assert len(orphans) == orphans_per_round
        owner.kill()  # SIGKILL
        owner.wait()  # no zombie: the pid is really gone
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(REAPERS), "2"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        lists = [line.split()[1:] for line in done.stdout.splitlines()]
        assert len(lists) == 2
        first, second = (set(r) for r in lists)
        assert not first & second, "a run was reaped twice"
        assert first | second == orphans
        assert sum(map(len, lists)) == orphans_per_round
        total += orphans_per_round
        splits.append(f"{len(first)}/{len(second)}")
        store = Store(store_uri)
        try:
            assert {store.get_run(r).status for r in orphans} == {"CRASHED"}
        finally:
            store.close()
    backend = store_uri.split(":", 1)[0]
    print(
        f"{backend}: {rounds} rounds x 2 processes reaping {orphans_per_round} runs of a dead "
        f"process at once: {total} runs, each reaped exactly once "
        f"(splits {', '.join(splits)})"
    )
