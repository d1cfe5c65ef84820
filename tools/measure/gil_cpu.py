# Topic 11: the GIL. CPU-bound count() sequential vs threads vs processes,
# and sleeper-thread wake-up latency ("convoy effect") with a CPU-bound thread.
import multiprocessing as mp
import statistics
import sys
import threading
import time


def count(n):
    while n > 0:
        n -= 1


def calibrate(target=0.4):
    n = 200000
    while True:
        t0 = time.perf_counter()
        count(n)
        dt = time.perf_counter() - t0
        if dt > 0.1:
            break
        n *= 2
    for _ in range(2):  # refine: re-measure at the extrapolated size
        n = int(n * target / dt)
        t0 = time.perf_counter()
        count(n)
        dt = time.perf_counter() - t0
    return n


def _cpu():
    """CPU seconds used by this process plus its reaped children"""
    import resource
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def wall(fn, reps=5):
    """best-of-reps wall time, plus CPU time (self + children) for that best run"""
    best = None
    for _ in range(reps):
        c0 = _cpu()
        t0 = time.perf_counter()
        fn()
        w = time.perf_counter() - t0
        c = _cpu() - c0
        if best is None or w < best[0]:
            best = (w, c)
    return best


def seq(n):
    count(n); count(n)


def threads(n):
    ts = [threading.Thread(target=count, args=(n,)) for _ in range(2)]
    for t in ts: t.start()
    for t in ts: t.join()


def procs(n):
    ps = [mp.Process(target=count, args=(n,)) for _ in range(2)]
    for p in ps: p.start()
    for p in ps: p.join()


stop = False


def spinner():
    while not stop:
        pass


def sleeper(samples, k):
    for _ in range(k):
        t0 = time.perf_counter()
        time.sleep(0.001)
        samples.append((time.perf_counter() - t0 - 0.001) * 1000.0)


def latency(with_cpu, k=200):
    global stop
    stop = False
    samples = []
    sp = None
    if with_cpu:
        sp = threading.Thread(target=spinner, daemon=True)
        sp.start()
        time.sleep(0.05)
    s = threading.Thread(target=sleeper, args=(samples, k))
    s.start(); s.join()
    stop = True
    if sp is not None:
        sp.join()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)], samples[-1]


def main():
    import os
    print("version:", sys.version.split()[0], " switchinterval:", sys.getswitchinterval(),
          " loadavg(1m) at start: %.2f" % os.getloadavg()[0])
    gil = getattr(sys, "_is_gil_enabled", None)
    print("sys._is_gil_enabled():", gil() if gil else "<absent>")
    n = calibrate()
    print("n =", n)
    s, sc = wall(lambda: seq(n))
    t, tc = wall(lambda: threads(n))
    p, pc = wall(lambda: procs(n))
    print("(best of 5 wall times; cpu = CPU seconds of parent + children; cores busy = cpu / wall)")
    print("sequential 2x count(n): %.3fs  cpu %.3fs  cores busy %.2f" % (s, sc, sc / s))
    print("2 threads:              %.3fs  cpu %.3fs  cores busy %.2f  (speed-up vs sequential %.2fx)" % (t, tc, tc / t, s / t))
    print("2 processes:            %.3fs  cpu %.3fs  cores busy %.2f  (speed-up vs sequential %.2fx)" % (p, pc, pc / p, s / p))
    for label, cpu in (("sleeper alone", False), ("sleeper + 1 CPU-bound thread", True)):
        med, p90, mx = latency(cpu)
        print("%-45s wake-up latency over 1ms: median %.3f ms, p90 %.3f ms, max %.3f ms" % (label + " (5 ms):", med, p90, mx))
    sys.setswitchinterval(0.001)
    med, p90, mx = latency(True)
    print("%-45s wake-up latency over 1ms: median %.3f ms, p90 %.3f ms, max %.3f ms"
          % ("sleeper + CPU thread, setswitchinterval(0.001):", med, p90, mx))
    sys.setswitchinterval(0.005)
    print("loadavg(1m) at end: %.2f  (timings are only meaningful on an otherwise idle machine)" % os.getloadavg()[0])


if __name__ == "__main__":
    main()
