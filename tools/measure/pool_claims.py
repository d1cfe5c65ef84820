# Issue 10.15, the pool lesson's two claims, on every CPython under pyenv:
# 1. With Pool(4) and 5 tasks (0.5 s each), does task 4 run in the worker whose task
#    finished first (same PID as the first "Task N done.")? Runs the lesson's own code.
# 2. What sizes Pool(): run with this process's CPU affinity cut to one core, on a
#    machine with more; os.cpu_count() ignores the affinity, os.process_cpu_count()
#    (3.13+) follows it.
#
# Run: python3 pool_claims.py [RUNS]
import glob
import os
import re
import subprocess
import sys

LESSON = r'''
from multiprocessing import Pool
import os, time

def long_time_task(name):
    print('Run task %s (%s)...' % (name, os.getpid()))
    time.sleep(0.5)
    print('Task %s done.' % name)

if __name__=='__main__':
    print('Parent process %s.' % os.getpid())
    p = Pool(4)
    for i in range(5):
        p.apply_async(long_time_task, args=(i,))
    print('Waiting for all subprocesses done...')
    p.close()
    p.join()
    print('All subprocesses done.')
'''

SIZE = r'''
import multiprocessing, os, sys
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
p = multiprocessing.Pool()
print(os.cpu_count(), len(os.sched_getaffinity(0)), p._processes)
p.close(); p.join()
'''


def first_finisher_runs_task_4(python):
    out = subprocess.run([python, "-u", "-c", LESSON], stdout=subprocess.PIPE,
                         timeout=60).stdout.decode()
    pid_of = {int(t): int(p) for t, p in re.findall(r"Run task (\d+) \((\d+)\)", out)}
    done = [int(t) for t in re.findall(r"Task (\d+) done", out)]
    first = next(t for t in done if t != 4)
    return pid_of[4] == pid_of[first]


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    pythons = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python")),
                     key=lambda p: [int(x) for x in p.split("/")[-3].split(".")])
    for python in pythons:
        version = python.split("/")[-3]
        same = sum(first_finisher_runs_task_4(python) for _ in range(runs))
        cpu, allowed, size = subprocess.run([python, "-c", SIZE], stdout=subprocess.PIPE,
                                            check=True).stdout.split()
        print(f"{version}: task 4 in the first finisher's worker in {same} of {runs} runs; "
              f"os.cpu_count()={cpu.decode()}, cores allowed={allowed.decode()}, "
              f"Pool() size={size.decode()}")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
