"""A real `eldercare serve` for the benchmarks: concurrent keep-alive clients, and the
memory of the worker process that serves a large export (read from /proc: no psutil)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, Site, percentiles

# --- a real server ----------------------------------------------------------------------


class Server:
    """`eldercare serve --workers N` on a free port, for as long as the `with` lasts."""

    def __init__(self, site: Site, workers: int) -> None:
        self.site, self.workers = site, workers
        self.log = site.folder / "serve.log"

    def __enter__(self) -> Server:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._log = self.log.open("ab")
        # `serve` without the scheduler execs gunicorn: this pid is gunicorn's master.
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eldercare.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--no-scheduler",
            ],
            env=self.site.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {self.log}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(self.worker_pids()) == self.workers:
                    conn.close()
                    return self
                conn.close()
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"server did not start: see {self.log}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def __exit__(self, *_exc) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def hammer(port: int, threads: int, seconds: float, step) -> tuple[int, list[float], int]:
    """Call step(conn, thread, n) in each thread over its own keep-alive connection until
    time is up: (requests, latencies in seconds, failures)."""
    stop = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        n, mine, bad = 0, [], 0
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                ok = step(conn, i, n)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                ok = False
            mine.append(time.perf_counter() - t0)
            bad += not ok
            n += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(latencies), latencies, errors[0]


@dataclass
class Rate:
    per_second: float
    p50_ms: float
    p95_ms: float
    errors: int
    requests: int


def rate(port: int, threads: int, seconds: float, step) -> Rate:
    hammer(port, threads, min(2.0, seconds), step)  # warm the workers up
    count, lat, errors = hammer(port, threads, seconds, step)
    p50, p95 = percentiles([x * 1000 for x in lat]) if lat else (0.0, 0.0)
    return Rate(count / seconds, p50, p95, errors, count)


def get_healthz(conn, _i: int, _n: int) -> bool:
    conn.request("GET", "/healthz")
    resp = conn.getresponse()
    resp.read()
    return resp.status == 200


# --- memory of a worker process ---------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc (no psutil here)."""
    out = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def reset_peak(pid: int) -> bool:
    """Start VmHWM afresh at the current RSS (Linux: 5 > /proc/PID/clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class ExportMemory:
    path: str
    status: int
    bytes: int
    seconds: float
    rss_before_mib: float  # the worker that served it, just before
    rss_peak_mib: float  # its peak RSS while the export was made and downloaded
    growth_mib: float
    peak_source: str  # "VmHWM" (peak since reset) or "sampled" (VmRSS every 10 ms)


def export_memory(server: Server, cookie: str, path: str) -> ExportMemory:
    """Download `path` over HTTP in 64 KiB reads while sampling the RSS of every worker;
    the worker whose memory rose is the one that served it."""
    pids = server.worker_pids()
    before = {p: proc_status(p).get("VmRSS", 0) for p in pids}
    reset = all(reset_peak(p) for p in pids)
    sampled = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for p in pids:
                sampled[p] = max(sampled[p], proc_status(p).get("VmRSS", 0))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.perf_counter()
    size, status = 0, 0
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        conn.request("GET", path, headers={"Cookie": f"session={cookie}"})
        resp = conn.getresponse()
        status = resp.status
        while block := resp.read(64 * 1024):
            size += len(block)
        conn.close()
    finally:
        seconds = time.perf_counter() - t0
        time.sleep(0.05)
        done.set()
        sampler.join()
    peaks = {p: max(sampled[p], proc_status(p).get("VmHWM", 0) if reset else 0) for p in pids}
    served = max(pids, key=lambda p: peaks[p] - before[p])
    return ExportMemory(
        path,
        status,
        size,
        seconds,
        before[served] / 1024,
        peaks[served] / 1024,
        (peaks[served] - before[served]) / 1024,
        "VmHWM" if reset else "sampled",
    )
