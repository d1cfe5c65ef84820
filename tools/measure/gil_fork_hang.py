# Issue 10.15: does the GIL lab's own program, run-as=processes with the I/O probe,
# hang CPython itself? The probe thread prints while the main thread forks the
# workers (the fork start method, Linux's default before 3.14); a child forked while
# the probe holds stdout's lock inherits the lock held, and blocks on its first print
# or at exit. Runs the lesson's program RUNS times per interpreter with a timeout and
# counts the runs that did not end.
#
#   python3 tools/measure/gil_fork_hang.py [RUNS] [N] [VERSION ...]
import glob, os, pty, subprocess, sys, threading

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000000
WANT = sys.argv[3:]
TIMEOUT = 30

PROGRAM = '''
import os, threading, time
import multiprocessing as mp

def count(n):
    while n > 0:
        n -= 1

def probe():
    for i in range(10):
        t = time.perf_counter()
        time.sleep(0.001)
        late = time.perf_counter() - t - 0.001
        print('I/O thread woke up %.1f ms late' % (late * 1000))

if __name__ == '__main__':
    workers = [mp.Process(target=count, args=(N,)) for i in range(2)]
    io = threading.Thread(target=probe)
    io.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    io.join()
    print('done')
'''.replace('(N,)', '(%d,)' % N)

def _drain(fd):
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass


for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    hung = 0
    for _ in range(RUNS):
        # stdout is a terminal, as when a student runs the lesson: line-buffered,
        # so every print writes while holding the lock (with a pipe: 0 hangs).
        master, slave = pty.openpty()
        p = subprocess.Popen([exe, '-c', PROGRAM], stdout=slave,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(slave)
        drain = threading.Thread(target=lambda: _drain(master), daemon=True)
        drain.start()
        try:
            p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            hung += 1
            os.killpg(p.pid, 9)
            p.wait()
        drain.join(1)
        try:
            os.close(master)
        except OSError:
            pass
    print('%s: %d of %d runs hung (n=%d, timeout %d s)' % (version, hung, RUNS, N, TIMEOUT), flush=True)
