"""How do a Pool's workers end when `with Pool(2) as p:` ends (p.terminate())?

The pool-results lesson (api=with) leaves the block while one worker sleeps in
square(6) and the other waits for a task. This measures CPython: 5 such blocks,
then each worker's exit code once joined (-15: killed by SIGTERM; 0: it took one
of the Nones the pool's task handler sends while terminate() runs, and ended by
itself).

    for v in 3.8.18 3.13.0; do
        ~/.pyenv/versions/$v/bin/python3 tools/measure/pool_with_exit.py; done

Measured on a 2-core Linux machine: the busy worker is killed every time; the
idle one ends either way, by timing:
    3.8.18 {(-15, 0): 4, (-15, -15): 1}
    3.13.0 {(-15, -15): 3, (-15, 0): 2}
"""
import sys
import time
from multiprocessing import Pool


def square(x):
    time.sleep(0.5)
    return x * x


if __name__ == '__main__':
    codes = {}
    for run in range(5):
        with Pool(2) as p:
            r = p.apply_async(square, (6,))
            time.sleep(0.05)
            workers = list(p._pool)
        for w in workers:
            w.join()
        key = tuple(sorted(w.exitcode for w in workers))
        codes[key] = codes.get(key, 0) + 1
    print(sys.version.split()[0], codes)
