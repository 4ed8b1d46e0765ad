"""The launcher of ``tinynet train --nproc-per-node N``: N processes of one job, watched until they end.

    backend "nccl" (or any but mpi)   N copies of ``python -m tinynet <the same command>``, each with
                                      RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (torchrun's
                                      names; one GPU per process, LOCAL_RANK's)
    backend "mpi"                     the MPI wheel's ``mpiexec -n N python -m tinynet ...``: MPI forms
                                      its world itself (those variables alone would not)

The collectives have no timeout, so a rank that dies leaves the others waiting in their next all-reduce,
and a rank that hangs leaves them all waiting. The launcher therefore watches, in a folder it names in
TINYNET_HEARTBEAT_DIR: each rank writes its pid there once it knows its rank (``started()``), a count of
its steps and collectives into its heartbeat file at each one (``beat()``), and its exit status when it
ends (``finished()``). The launcher polls five times a second; as soon as a rank ends in an error or
vanishes without an exit status (killed by a signal), or a rank's heartbeat is older than ``timeout``
seconds, it stops every other process (SIGTERM, then SIGKILL after a few seconds) and returns non-zero,
naming the rank: for a stall, the silent rank with the fewest beats (the others wait for it in a
collective, one step further on). Each process it starts is also told to die with it (Linux's parent-death signal), so no
rank outlives a launcher that is killed.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

__all__ = ["launch", "started", "beat", "finished", "mpiexec_path"]

HEARTBEAT_ENV = "TINYNET_HEARTBEAT_DIR"
_POLL_S = 0.2
_STOP_S = 5.0  # how long stopping waits after SIGTERM before SIGKILL
_beats = None  # in a rank: [open file of its heartbeat, how many beats so far]


def _rank():
    from tinynet.distributed import group

    return group.get_rank()


def started():
    """In a rank, once it knows its rank: record its pid (the launcher watches it) and open its heartbeat."""
    global _beats
    folder = os.environ.get(HEARTBEAT_ENV)
    if not folder:
        return
    try:
        with open(os.path.join(folder, f"rank{_rank()}.pid"), "w") as f:
            f.write(str(os.getpid()))
        _beats = [os.open(os.path.join(folder, f"rank{_rank()}.beat"), os.O_WRONLY | os.O_CREAT, 0o600), 0]
    except OSError:  # the launcher is gone (its folder removed): nothing to tell
        _beats = None
    beat()


def beat():
    """In a rank: "alive, and one more step (or collective) done". The count tells the launcher which
    rank is behind when all wait: a stalled rank has done fewer than those waiting for it."""
    if _beats is None:
        return
    _beats[1] += 1
    try:
        os.pwrite(_beats[0], b"%16d\n" % _beats[1], 0)  # one small write; it also sets the file's mtime
    except OSError:
        pass


def finished(code):
    """In a rank: record its exit status for the launcher's message."""
    folder = os.environ.get(HEARTBEAT_ENV)
    if folder:
        try:
            with open(os.path.join(folder, f"rank{_rank()}.exit"), "w") as f:
                f.write(str(int(code)))
        except OSError:
            pass


def mpiexec_path():
    """The mpiexec beside this Python (the mpich wheel's), else on PATH; or an error naming the extra."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.path.exists(here) else shutil.which("mpiexec")
    if found is None:
        raise RuntimeError('tinynet train --dist-backend mpi: no mpiexec beside this Python or on PATH; install '
                           'the distributed extra: pip install -e ".[distributed]" (mpi4py and the mpich wheel)')
    return found


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """In the child, before exec: SIGTERM when the launcher dies (Linux); elsewhere nothing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def launch(command, nproc, backend, timeout, log=print):
    """Run ``python -m tinynet *command`` as ``nproc`` ranks (see the module docstring); the job's exit status."""
    folder = tempfile.mkdtemp(prefix="tinynet-ranks-")
    env = dict(os.environ, **{HEARTBEAT_ENV: folder})
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        env.pop(name, None)
    # The cores shared out (as torchrun sets OMP_NUM_THREADS): N processes each with a thread per core would
    # run N times as many threads as cores. A value the user set is kept.
    per_rank = str(max(1, (os.cpu_count() or 1) // nproc))
    for name in ("TINYNET_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, per_rank)
    argv = [sys.executable, "-m", "tinynet", *command]
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    procs = []

    def terminated(signum, frame):  # kill, timeout, a job scheduler: stop the ranks and clean up, as on Ctrl-C
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, terminated) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        if backend == "mpi":
            # Its output passes through a thread here, which also reads MPICH's report of a process that ended
            # badly ("PID <pid> RUNNING AT ..."): the pid names the rank when a signal ended it without a word.
            job = subprocess.Popen([mpiexec_path(), "-n", str(nproc), *argv], env=env, preexec_fn=preexec,
                                   stdout=subprocess.PIPE, text=True, errors="replace", bufsize=1)
            job.reported = []
            threading.Thread(target=_relay, args=(job,), daemon=True).start()
            procs.append(("mpiexec", job))
        else:
            port = str(_free_port())
            for r in range(nproc):
                rank_env = dict(env, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(nproc), MASTER_ADDR="127.0.0.1",
                                MASTER_PORT=port)
                procs.append((f"rank {r}", subprocess.Popen(argv, env=rank_env, preexec_fn=preexec)))
        return _watch(procs, nproc, folder, timeout, log)
    except KeyboardInterrupt:  # the ranks got the same Ctrl-C (one process group): let them end, then make sure
        _stop(procs, log=None)
        return 130
    except _Terminated:
        log("tinynet train: terminated; stopping every rank")
        _stop(procs, log=None)
        return 143
    finally:
        _stop(procs, log=None)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        for _ in range(25):  # a rank may still write its exit record while MPI winds down: until it is gone
            shutil.rmtree(folder, ignore_errors=True)
            if not os.path.exists(folder):
                break
            time.sleep(0.2)


class _Terminated(Exception):
    """SIGTERM to the launcher."""


_REPORTED = re.compile(r"PID (\d+) RUNNING AT")


def _relay(job):
    """Copy the MPI job's output to ours, line by line, noting the pids MPICH reports as ended badly."""
    for line in job.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        found = _REPORTED.search(line)
        if found:
            job.reported.append(int(found.group(1)))


def _reported_rank(procs, pids):
    """The rank MPICH reported ending badly (by its pid), or None."""
    for _, p in procs:
        for pid in getattr(p, "reported", ()):
            for r, q in pids.items():
                if q == pid:
                    return r
    return None


def _watch(procs, nproc, folder, timeout, log):
    start, pids, first_gone = time.monotonic(), {}, None
    while True:
        codes = [(name, p.poll()) for name, p in procs]
        gone = []  # which rank went first, when a signal ends it without a word (kill -9, out of memory)
        for r in range(nproc):
            if pids.get(r) is None:  # written once the rank has joined the group
                pids[r] = _read_int(os.path.join(folder, f"rank{r}.pid"))
            if pids[r] is not None and not _alive(pids[r]) and not os.path.exists(os.path.join(folder, f"rank{r}.exit")):
                gone.append(r)
        if first_gone is None and len(gone) == 1:  # several at once: which was first is not known from here
            first_gone = gone[0]
        failed = [(name, code) for name, code in codes if code not in (None, 0)]
        if failed:
            name, code = failed[0]
            if name == "mpiexec":
                procs[0][1].wait()
                time.sleep(_POLL_S)  # the relay thread reads MPICH's last lines
                first_gone = _reported_rank(procs, pids) if first_gone is None else first_gone
            culprit = _failed_rank(folder, nproc) or (f"rank {first_gone}" if first_gone is not None else name)
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            if name == "mpiexec" and culprit != name:
                how = f"ended the MPI job (mpiexec exited with code {code})"
            log(f"tinynet train: {culprit} {how}; stopping the other ranks")
            _stop(procs, log)
            return code if code > 0 else 1
        if all(code == 0 for _, code in codes):
            return 0
        culprit = _failed_rank(folder, nproc)  # a rank that ended in an error: the others would wait for it
        if culprit is None and first_gone is not None:
            culprit = f"rank {first_gone} (gone without an exit status: killed by a signal, out of memory?)"
        if culprit is not None:
            log(f"tinynet train: {culprit} failed; stopping the other ranks")
            _stop(procs, log)
            return 1
        stalled = _stalled_ranks(folder, nproc, start, timeout)
        if stalled:
            age = max(a for _, a, _ in stalled)
            behind = min(n for _, _, n in stalled)
            names = [r for r, _, n in stalled if n == behind]
            who = f"rank {names[0]}" if len(names) == 1 else "ranks " + ", ".join(map(str, names))
            log(f"tinynet train: {who} made no progress for {age:.0f} s (--dist-timeout {timeout:g})"
                + (", the others waiting for it" if len(names) < len(stalled) or len(stalled) < nproc else "")
                + "; stopping every rank")
            _stop(procs, log)
            return 1
        time.sleep(_POLL_S)


def _read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is gone too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _failed_rank(folder, nproc):
    """'rank r' for the first rank that recorded a non-zero exit, else None."""
    for r in range(nproc):
        code = _read_int(os.path.join(folder, f"rank{r}.exit"))
        if code not in (None, 0):
            return f"rank {r}"
    return None


def _stalled_ranks(folder, nproc, start, timeout):
    """[(rank, seconds since its last beat, beats)] of the running ranks silent for more than ``timeout``
    (a rank with no beat yet counts from the launch, with 0 beats); [] if none is."""
    if not timeout:
        return []
    now, found = time.time(), []
    for r in range(nproc):
        if os.path.exists(os.path.join(folder, f"rank{r}.exit")):
            continue
        path = os.path.join(folder, f"rank{r}.beat")
        try:
            age = now - os.stat(path).st_mtime
        except OSError:
            age = time.monotonic() - start
        if age > timeout:
            found.append((r, age, _read_int(path) or 0))
    return found


def _stop(procs, log):
    """SIGTERM every process still running, SIGKILL those still there after a few seconds; reap them all."""
    running = [p for _, p in procs if p.poll() is None]
    for p in running:
        p.terminate()
    deadline = time.monotonic() + _STOP_S
    for p in running:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
