# Issue 10.15: the queue lesson with get_nowait(): does the reader start before the
# first put (and die of queue.Empty), or find 'A' already there? Runs the lesson's
# program RUNS times per interpreter and counts the runs whose reader raised
# before getting anything.
#
#   python3 tools/measure/queue_nowait.py [RUNS] [VERSION ...]
import glob, os, subprocess, sys

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
WANT = sys.argv[2:]

PROGRAM = '''
from multiprocessing import Process, Queue
import os, time

def write(q):
    print('Process to write: %s' % os.getpid(), flush=True)
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value, flush=True)
        q.put(value)
        time.sleep(0.1)

def read(q):
    print('Process to read: %s' % os.getpid(), flush=True)
    while True:
        value = q.get_nowait()
        print('Get %s from queue.' % value, flush=True)

if __name__=='__main__':
    q = Queue()
    pw = Process(target=write, args=(q,))
    pr = Process(target=read, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    pr.terminate()
'''

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    empty_first = 0
    for _ in range(RUNS):
        r = subprocess.run([exe, '-c', PROGRAM], capture_output=True, text=True, timeout=30)
        empty_first += 'Get ' not in r.stdout
    print('%s: the reader found the queue empty at its first get in %d of %d runs'
          % (version, empty_first, RUNS), flush=True)
