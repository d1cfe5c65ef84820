# Issue 12: when Pool(4)'s workers are ready (their initializer runs just before the
# worker loop's first get) against when Pool() returns and when each task starts,
# all in ms from the Pool() call, on a terminal. Tells whether the workers already
# wait when the first tasks come (then who runs which task is a race between them).
# Prints one JSON object: per run, {"ready": [...], "returned": ms, "run": [[task, ms]...]}.
import json
import re
import sys

from timing_lessons import on_tty

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10

CODE = """
import multiprocessing as mp, os, time
def init(t0):
    print('ready %.3f' % ((time.time() - t0) * 1000))
def task(i, t0):
    print('run %d %.3f' % (i, (time.time() - t0) * 1000))
    time.sleep(0.1)
if __name__ == '__main__':
    t0 = time.time()
    p = mp.Pool(4, initializer=init, initargs=(t0,))
    print('returned %.3f' % ((time.time() - t0) * 1000))
    for i in range(5):
        p.apply_async(task, args=(i, t0))
    p.close()
    p.join()
"""


def main():
    runs = []
    for _ in range(RUNS):
        out, _ = on_tty(CODE, 20)
        runs.append({
            "ready": sorted(float(x) for x in re.findall(r"ready ([\d.]+)", out)),
            "returned": [float(x) for x in re.findall(r"returned ([\d.]+)", out)],
            "run": [[int(i), float(t)] for i, t in re.findall(r"run (\d) ([\d.]+)", out)],
        })
    print(json.dumps({"version": sys.version.split()[0], "runs": runs}))


if __name__ == "__main__":
    main()
