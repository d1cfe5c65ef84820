"""When does an idle Pool worker exit after close()?

The pool lesson's simulator lets an idle worker take its sentinel and end while
another worker still runs the last task. This measures CPython: Pool(2), the
last task long; after close() the parent watches its workers every 5 ms and
notes whether one ended before the last task's result came back.

    for v in 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0; do
        ~/.pyenv/versions/$v/bin/python tools/measure/pool_worker_exit.py; done
"""
import sys
import time
from multiprocessing import Pool


def task(seconds):
    time.sleep(seconds)
    return seconds


def main():
    p = Pool(2)
    workers = list(p._pool)
    done = []
    for s in (0.05, 0.05, 0.05, 0.6):
        p.apply_async(task, (s,), callback=lambda r: done.append((time.monotonic(), r)))
    p.close()
    first_exit = None
    while any(w.is_alive() for w in workers):
        now = time.monotonic()
        if first_exit is None and any(not w.is_alive() for w in workers):
            first_exit = now
        time.sleep(0.005)
    p.join()
    last = max(t for t, _ in done)
    early = first_exit is not None and first_exit < last
    gap = 'n/a' if first_exit is None else '%+.0f ms' % ((first_exit - last) * 1000)
    print('%d.%d.%d' % sys.version_info[:3],
          'a worker ended before the last task came back:', 'yes' if early else 'no',
          '(first worker end minus last result: %s)' % gap)


if __name__ == '__main__':
    main()
