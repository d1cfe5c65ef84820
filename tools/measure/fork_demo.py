# Topic 10: os.fork(), and stdio buffering across fork when stdout is a pipe vs a tty.
import multiprocessing as mp
import os
import subprocess
import sys
import time


def basic():
    print("version:", sys.version.split()[0])
    parent = os.getpid()
    r, w = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, ("%d %d" % (os.getpid(), os.getppid())).encode())
        os._exit(0)
    os.close(w)
    data = os.read(r, 100).decode().split()
    os.waitpid(pid, 0)
    print("fork() returned child pid in parent:", pid == int(data[0]),
          "; in child getppid()==parent getpid():", int(data[1]) == parent)

    # order of prints, 40 trials: does the parent or the child print first?
    first = {"parent": 0, "child": 0}
    for _ in range(40):
        rr, ww = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rr)
            os.write(ww, b"c")
            os._exit(0)
        os.write(ww, b"p")
        os.close(ww)
        os.waitpid(pid, 0)
        s = os.read(rr, 10)
        os.close(rr)
        first["parent" if s[:1] == b"p" else "child"] += 1
    print("who writes first after fork (40 trials):", first)


CHILD_SRC = r'''
import os, sys
print("x", end="")          # sits in the stdio buffer (not flushed)
pid = os.fork()
if pid == 0:
    print("[child]")
    sys.exit(0)             # normal exit flushes the buffer, which still holds "x"
os.waitpid(pid, 0)
print("[parent]")
'''

CHILD_SRC_NL = CHILD_SRC.replace('print("x", end="")', 'print("x")')
CHILD_SRC_FLUSHED = CHILD_SRC.replace('print("x", end="")', 'print("x", end="", flush=True)')

CHILD_MP = r'''
import multiprocessing as mp, os, sys
def f():
    print("hello from child", mp.current_process().name)
if __name__ == "__main__":
    print("parent before start")
    p = mp.Process(target=f); p.start(); p.join()
    print("parent after join, exitcode", p.exitcode)
'''

CHILD_MP_UNFLUSHED = r'''
import multiprocessing as mp, os, sys
def f():
    print("hello from child", mp.current_process().name)
    os._exit(0)
if __name__ == "__main__":
    p = mp.Process(target=f); p.start(); p.join()
    print("parent after join, exitcode", p.exitcode)
'''

CHILD_MP_AFTER_THREAD = r'''
import multiprocessing as mp
def f(x): return x
if __name__ == "__main__":
    q = mp.Queue(); q.put(1)   # q.put starts the queue's feeder thread
    p = mp.Process(target=f, args=(1,)); p.start(); p.join(); print("done")
'''

CHILD_THREAD_FORK = r'''
import os, threading, time
t = threading.Thread(target=time.sleep, args=(0.5,)); t.start()
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
t.join()
print("done")
'''


# Children get a clean environment: PYTHONUNBUFFERED (set on some CI/dev boxes) would hide the effect.
ENV = dict(os.environ)
ENV.pop("PYTHONUNBUFFERED", None)


def run_piped(src, extra=()):
    p = subprocess.Popen([sys.executable] + list(extra) + ["-c", src], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=ENV)
    out, _ = p.communicate(timeout=30)
    return out


def run_tty(src):
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-c", src], stdout=slave, stderr=slave, env=ENV)
    os.close(slave)
    chunks = []
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            d = os.read(master, 1024)
        except OSError:
            break
        if not d:
            break
        chunks.append(d)
    p.wait(timeout=30)
    os.close(master)
    return b"".join(chunks).replace(b"\r\n", b"\n")


def main():
    basic()
    print("PYTHONUNBUFFERED in this process's env:", repr(os.environ.get("PYTHONUNBUFFERED")),
          "(removed for the child runs below)")
    print("sys.stdout.isatty():", sys.stdout.isatty(), " line_buffering:", sys.stdout.line_buffering)
    print("print('x', end='') then fork, stdout=PIPE:   ", repr(run_piped(CHILD_SRC)))
    print("print('x', end='') then fork, stdout=tty:    ", repr(run_tty(CHILD_SRC)))
    print("print('x') (newline) then fork, stdout=PIPE: ", repr(run_piped(CHILD_SRC_NL)))
    print("print('x') (newline) then fork, stdout=tty:  ", repr(run_tty(CHILD_SRC_NL)))
    print("same with flush=True before fork, PIPE:      ", repr(run_piped(CHILD_SRC_FLUSHED)))
    print("same unflushed, but python -u, PIPE:         ", repr(run_piped(CHILD_SRC, ["-u"])))
    print("mp.Process child print, stdout=PIPE:          ", repr(run_piped(CHILD_MP)))
    print("mp.Process child print then os._exit, PIPE:   ", repr(run_piped(CHILD_MP_UNFLUSHED)))
    print("os.fork() in __main__ while another thread runs (default warning filters):",
          repr(run_piped(CHILD_THREAD_FORK)))
    print("mp.Process.start() after a Queue feeder thread exists (default filters):",
          repr(run_piped(CHILD_MP_AFTER_THREAD)))
    print("same with python -W default:", repr(run_piped(CHILD_MP_AFTER_THREAD, ["-W", "default"])))


if __name__ == "__main__":
    main()
