# Topic 9: multiprocessing.Value shared counter, with and without get_lock()
import multiprocessing as mp
import sys
import time


def inc(v, n, go):
    if go is not None:
        go.wait()
    for _ in range(n):
        v.value += 1


def inc_locked(v, n, go):
    if go is not None:
        go.wait()
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def inc_sleep(v, n, go):
    for _ in range(n):
        tmp = v.value
        time.sleep(0.0001)
        v.value = tmp + 1


def once(target, nprocs, n, synced):
    v = mp.Value('i', 0)
    go = mp.Event() if synced else None
    ps = [mp.Process(target=target, args=(v, n, go)) for _ in range(nprocs)]
    for p in ps:
        p.start()
    if go is not None:
        time.sleep(0.05)
        go.set()
    for p in ps:
        p.join()
    return v.value


def series(label, target, nprocs, n, runs, synced=False):
    t0 = time.time()
    vals = [once(target, nprocs, n, synced) for _ in range(runs)]
    exp = nprocs * n
    low = [x for x in vals if x < exp]
    print("%-38s procs=%d n=%d expected=%d runs=%d below=%d/%d min=%d examples=%s (%.1fs)"
          % (label, nprocs, n, exp, runs, len(low), runs, min(vals), low[:5], time.time() - t0))
    sys.stdout.flush()


def main():
    print("version:", sys.version.split()[0])
    v = mp.Value('i', 0)
    print("repr(Value('i',0)):", repr(v).split(" at ")[0] if " at " in repr(v) else repr(v))
    print("type(v.get_lock()):", type(v.get_lock()))
    print("Value('i',0,lock=False) type:", type(mp.Value('i', 0, lock=False)))
    series("unlocked, tutorial style", inc, 10, 50, 20)
    series("unlocked, all start together (Event)", inc, 10, 50, 20, synced=True)
    series("unlocked", inc, 10, 1000, 10)
    series("unlocked", inc, 10, 10000, 5)
    series("unlocked read;sleep(0.1ms);write", inc_sleep, 10, 50, 5)
    series("with v.get_lock()", inc_locked, 10, 50, 20)
    series("with v.get_lock()", inc_locked, 10, 10000, 5)


if __name__ == "__main__":
    main()
