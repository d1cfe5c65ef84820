# The claims behind the errata of the lessons fork, process, pool and subprocess:
# what the classic tutorials say, checked against this CPython. Linux only.
# Run: for v in 3.6.15 ... 3.13.0; do ~/.pyenv/versions/$v/bin/python tour_errata.py; done
import multiprocessing as mp
import multiprocessing.pool
import os
import signal
import subprocess
import sys
import tempfile
import time

PY = sys.executable
DEVNULL = open(os.devnull, 'w')


def state(pid):
    """The process state letter from /proc (R, S, Z ...) and its parent's PID."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
    except FileNotFoundError:
        return ('gone', 0)
    rest = s[s.rindex(')') + 2:].split()
    return (rest[0], int(rest[1]))


def run(code, *args, **kw):
    out = subprocess.run([PY, '-c', code] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, **kw)
    return out.stdout.decode()


# 1. fork: "the child calls getppid() to get its parent's PID" -- not once the parent is gone.
ORPHAN = r'''
import os, time
parent = os.getpid()
pid = os.fork()
if pid == 0:
    time.sleep(0.3)
    print('orphan: parent was %d, getppid() now %d' % (parent, os.getppid()), flush=True)
    os._exit(0)
os._exit(0)
'''


def fork_orphan():
    # stdout is a pipe: run() returns when the orphan has closed it too.
    print('fork_orphan:', run(ORPHAN).strip())


# 1b. fork: "os.fork() works on Unix/Linux/Mac" -- 3.12 warns when the process has threads.
FORK_THREADS = r'''
import os, threading, time
threading.Thread(target=time.sleep, args=(0.5,)).start()
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
'''


def fork_threads_warning():
    out = run(FORK_THREADS).strip().splitlines()
    warn = [l.strip() for l in out if 'Warning' in l]
    print('fork_threads_warning: default warning filters: %s' % (warn or 'no warning'))


# 2. process: "terminate() leaves p's children as zombies".
def _grandchild_holder(q):
    pid = os.fork()
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    q.put(pid)
    time.sleep(10)


def terminate_zombie():
    q = mp.Queue()
    p = mp.Process(target=_grandchild_holder, args=(q,))
    p.start()
    g = q.get()
    p.terminate()
    time.sleep(0.3)
    sp = state(p.pid)
    sg = state(g)
    p.join()
    print('terminate_zombie: terminated p (not yet joined) state=%s; its child state=%s '
          'ppid_is_p=%s ppid=%d (1 or a subreaper); p.exitcode=%s; after join p state=%s'
          % (sp[0], sg[0], sg[1] == p.pid, sg[1], p.exitcode, state(p.pid)[0]))
    os.kill(g, signal.SIGKILL)


# 3. process: terminate() then is_alive(), print, is_alive() (tutorial: True, then False).
def terminate_alive(n=50):
    first = second = 0
    for _ in range(n):
        p = mp.Process(target=time.sleep, args=(10,))
        p.start()
        p.terminate()
        first += p.is_alive()
        print('start', file=DEVNULL, flush=True)
        second += p.is_alive()
        p.join()
    print('terminate_alive: is_alive() True right after terminate() %d/%d; after one more print %d/%d'
          % (first, n, second, n))


# 4. process: "when a daemon's parent ends, the daemon ends too" -- not if the parent is killed.
DAEMON = r'''
import multiprocessing as mp, os, signal, sys, time
def child(path):
    time.sleep(1)
    open(path, 'w').write('survived')
if __name__ == '__main__':
    d = mp.Process(target=child, args=(sys.argv[1],))
    d.daemon = True
    d.start()
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGKILL)
'''


def daemon_after_sigkill():
    path = tempfile.mktemp()
    r = subprocess.run([PY, '-c', DAEMON, path])
    time.sleep(1.5)
    ok = os.path.exists(path)
    if ok:
        os.remove(path)
    print('daemon_after_sigkill: parent returncode %d; daemon child finished its work: %s'
          % (r.returncode, ok))


def daemon_children():
    d = mp.Process(target=_try_child)
    d.daemon = True
    d.start()
    d.join()


def _try_child():
    try:
        mp.Process(target=time.sleep, args=(0,)).start()
        print('daemon_children: a daemon started a child')
    except Exception as e:
        print('daemon_children: %s: %s' % (type(e).__name__, e))
    sys.stdout.flush()


# 5. pool: "workers are created on demand" -- Pool(4) starts all four at once.
def pool_workers():
    p = mp.Pool(4)
    n = len(mp.active_children())
    names = sorted(c.name for c in mp.active_children())
    p.close()
    p.join()
    print('pool_workers: right after Pool(4), before any task: %d live children %s' % (n, names))


# 6. pool: "AsyncResult has terminate()".
def async_result():
    p = mp.Pool(1)
    r = p.apply_async(time.sleep, (0,))
    r.get()
    print('async_result: type %s; hasattr(result, "terminate") %s; Pool has terminate %s'
          % (type(r).__name__, hasattr(r, 'terminate'), hasattr(p, 'terminate')))
    p.close()
    p.join()


# 7. pool: "Pool() defaults to the number of cores" -- under an affinity mask of one CPU.
def pool_default_size():
    code = 'import multiprocessing as mp, os\nif __name__ == "__main__":\n' \
           '    p = mp.Pool(); print(os.cpu_count(), p._processes); p.close(); p.join()'
    try:
        out = subprocess.run(['taskset', '-c', '0', PY, '-c', code], stdout=subprocess.PIPE)
        cpu, size = out.stdout.decode().split()
        print('pool_default_size: under taskset -c 0: os.cpu_count() %s, Pool() workers %s' % (cpu, size))
    except Exception as e:
        print('pool_default_size: taskset failed', e)


# 8. subprocess: "the same as running it on the command line" -- order differs when stdout is a pipe.
CALL = r'''
import subprocess
print('$ echo hello, world')
r = subprocess.call(['echo', 'hello, world'])
print('Exit code:', r)
'''


def call_order():
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    out = subprocess.run([PY, '-c', CALL], stdout=subprocess.PIPE, env=env).stdout.decode()
    print('call_order: stdout a pipe, lines in order: %r' % out.splitlines())


# 9. process: the tutorial's printed lines vs the code's.
TUTORIAL = r'''
from multiprocessing import Process
import os
def run_proc(name):
    print('Run child process %s (%s)...' % (name, os.getpid()))
if __name__=='__main__':
    print('Parent process %s.' % os.getpid())
    p = Process(target=run_proc, args=('test',))
    print('Child process will start.')
    p.start()
    p.join()
    print('Child process end.')
'''


def tutorial_output():
    lines = [l.split(' (')[0].split(' 1')[0].split(' 2')[0] for l in run(TUTORIAL).splitlines()]
    print('tutorial_output: %r; start method %s' % (lines, mp.get_start_method()))


if __name__ == '__main__':
    print('version:', sys.version.split()[0])
    sys.stdout.flush()
    only = sys.argv[1:]
    for f in (fork_orphan, fork_threads_warning, terminate_zombie, terminate_alive, daemon_after_sigkill,
              daemon_children, pool_workers, async_result, pool_default_size, call_order,
              tutorial_output):
        if not only or f.__name__ in only:
            f()
            sys.stdout.flush()
