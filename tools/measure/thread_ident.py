# Issue 15: threading.get_ident() next to os.getpid(), and the low-level _thread
# module. Run with each CPython: `python thread_ident.py [RUNS]`.
#
# Part 1 (one interpreter): is get_ident() the same number as
# current_thread().ident and as pthread_self()? One PID, one ident per thread?
# Part 2 (fresh interpreters): is the ident stable from run to run?
# Part 3 (fresh interpreters, RUNS times, stdout a pipe and a pty): the threads
# lesson with `_thread.start_new_thread(loop, ())` and no wait in main: which of
# the thread's lines come out before the process ends, and what is its name?
import ctypes
import os
import pty
import subprocess
import sys
import threading

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
print("version:", sys.version.split()[0])

libc = ctypes.CDLL(None)
libc.pthread_self.restype = ctypes.c_ulong
seen = {}


def probe(label):
    seen[label] = (os.getpid(), threading.get_ident(),
                   threading.current_thread().ident, libc.pthread_self())


probe("main")
t = threading.Thread(target=probe, args=("thread",))
t.start()
t.join()
for label, (pid, ident, cur, pself) in seen.items():
    print("  %-6s pid == main pid: %s  get_ident() == current_thread().ident: %s"
          "  == pthread_self(): %s  ident > 2**32: %s"
          % (label, pid == seen["main"][0], ident == cur, ident == pself, ident > 2**32))
print("  two threads, two idents:", seen["main"][1] != seen["thread"][1])

one = "import threading; print(threading.get_ident())"
idents = {subprocess.run([sys.executable, "-c", one], stdout=subprocess.PIPE)
          .stdout.decode().strip() for _ in range(10)}
print("  main's ident in 10 fresh interpreters: %d distinct values" % len(idents))

LESSON = r'''
import time, threading, _thread

def loop():
    print('thread %s is running...' % threading.current_thread().name)
    n = 0
    while n < 5:
        n = n + 1
        print('thread %s >>> %s' % (threading.current_thread().name, n))
        time.sleep(1000 / 1000)
    print('thread %s ended.' % threading.current_thread().name)

print('thread %s is running...' % threading.current_thread().name)
_thread.start_new_thread(loop, ())
print('thread %s ended.' % threading.current_thread().name)
'''


def run_pipe():
    r = subprocess.run([sys.executable, "-c", LESSON], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def run_pty():
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", LESSON])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") \
        else status >> 8, out.decode().replace("\r\n", "\n"), ""


for name, run in (("pipe", run_pipe), ("pty", run_pty)):
    shapes = {}
    for _ in range(RUNS):
        code, out, err = run()
        key = (code, out, err.strip().splitlines()[-1] if err.strip() else "")
        shapes[key] = shapes.get(key, 0) + 1
    print("  _thread, main does not wait, stdout a %s, %d runs:" % (name, RUNS))
    for (code, out, err), n in sorted(shapes.items(), key=lambda kv: -kv[1]):
        print("    %2d x exit %s, stdout %r%s" % (n, code, out, ", stderr " + repr(err) if err else ""))
