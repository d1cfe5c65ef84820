# Issue 12: how long a Pool(4) program takes to die after an uncaught ValueError
# (join before close, or apply_async after close): the window in which the pool's
# workers still start their tasks and print `Run task`. The lesson's program runs on
# a terminal (a pty); an excepthook notes when the ValueError came out, and each
# worker notes when its SIGTERM came (the handler is set before Pool() forks them).
# Prints one JSON object: per mistake and run, [ms from the error to the first
# worker's SIGTERM, ms from the error to the program's exit, Run task lines].
import json
import os
import re
import sys
import tempfile
import time

from timing_lessons import POOL, on_tty

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10

HOOK = """
import os, signal, sys, time
def _hook(*a, _old=sys.excepthook):
    with open(STAMP, 'a') as f:
        f.write('raise %r\\n' % time.time())
    _old(*a)
sys.excepthook = _hook
def _term(*a):
    with open(STAMP, 'a') as f:
        f.write('term %r\\n' % time.time())
    os._exit(1)
signal.signal(signal.SIGTERM, _term)
"""


def main():
    res = {"version": sys.version.split()[0]}
    for mistake, code in (("join-before-close", "p.join()"),
                          ("apply-after-close", "p.close(); p.apply_async(long_time_task, args=(99,))")):
        runs = []
        for _ in range(RUNS):
            fd, stamp = tempfile.mkstemp()
            os.close(fd)
            src = HOOK.replace("STAMP", repr(stamp)) + POOL.replace("MISTAKE", code)
            out, _ = on_tty(src, 20)
            end = time.time()
            stamps = [line.split() for line in open(stamp).read().splitlines()]
            os.unlink(stamp)
            raised = [float(t) for k, t in stamps if k == "raise"]
            terms = [float(t) for k, t in stamps if k == "term"]
            ms = lambda t: round((t - raised[0]) * 1000, 2) if raised else None
            runs.append([ms(min(terms)) if terms else None, ms(end),
                         len(re.findall(r"Run task", out))])
        res[mistake] = runs
    print(json.dumps(res))


if __name__ == "__main__":
    main()
