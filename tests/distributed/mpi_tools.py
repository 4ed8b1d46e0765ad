"""Running a Python snippet in N real MPI processes (mpiexec from the MPI wheel), for the tests.

``run_ranks(code, n)`` writes ``code`` to a script, runs ``mpiexec -n n python script``, and returns what
each rank reported (``report(dict)``, one JSON file per rank: printed lines of two ranks may interleave). The tests
that use it skip, saying why, where mpi4py or mpiexec is missing (``pip install -e ".[test]"`` brings both).
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mpiexec():
    """The launcher's own choice (the mpiexec beside this Python, else on PATH), or None."""
    from tinynet.distributed.launch import mpiexec_path

    try:
        return mpiexec_path()
    except RuntimeError:
        return None


def _skip_reason():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return 'mpi4py is not installed (pip install -e ".[test]" brings it and MPICH)'
    if mpiexec() is None:
        return "no mpiexec beside this Python or on PATH (the mpich wheel brings one)"
    return None


MPI_SKIP_REASON = _skip_reason()
needs_mpi = pytest.mark.skipif(MPI_SKIP_REASON is not None, reason=str(MPI_SKIP_REASON))


def env():
    """The environment for ranks: tinynet importable from this tree, no launcher variables inherited."""
    e = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                          "MASTER_PORT")}
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return e


_PRELUDE = """import json as _json, os as _os, sys as _sys
def report(result):
    \"\"\"Write this rank's result (a dict holding "rank") for the test to read.\"\"\"
    with open(_os.path.join(_sys.argv[1], f"rank{result['rank']}.json"), "w") as f:
        _json.dump(result, f)
"""


def run_ranks(code, n, tmp_path, timeout=120, args=()):
    """Each rank's result, in rank order: ``code`` calls ``report(dict)`` (defined for it) once per rank.
    The job must exit 0; its output is in the assertion message if it does not."""
    script = tmp_path / "ranks.py"
    script.write_text(_PRELUDE + code)
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    done = subprocess.run([mpiexec(), "-n", str(n), sys.executable, str(script), str(results), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env())
    assert done.returncode == 0, f"mpiexec exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    found = sorted(results.glob("rank*.json"))
    assert len(found) == n, f"{len(found)} of {n} ranks reported\n{done.stdout}\n{done.stderr}"
    return [json.loads((results / f"rank{r}.json").read_text()) for r in range(n)]
