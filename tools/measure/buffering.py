# Issue 15 (the `buffering` lesson): what print does on a terminal versus a pipe,
# across fork, multiprocessing, terminate() and Pool. Each case runs its program
# RUNS times per interpreter with stdout a pipe, and again on a pseudo-terminal, and
# prints what the reader received.
#
#   python3 tools/measure/buffering.py [RUNS] [VERSION ...]
import glob, os, pty, select, subprocess, sys, time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
WANT = sys.argv[2:]

CASES = {
    # The tutorial's fork example: the parent's line is still in the buffer when it forks.
    'fork': '''
import os
print('Process (%s) start...' % os.getpid())
pid = os.fork()
if pid == 0:
    print('I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid()))
else:
    print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
    os.waitpid(pid, 0)
''',
    # multiprocessing flushes stdout and stderr before it forks a child.
    'process': '''
from multiprocessing import Process
import os
def run_proc(name):
    print('Run child process %s (%s)...' % (name, os.getpid()))
if __name__ == '__main__':
    print('Parent process %s.' % os.getpid())
    p = Process(target=run_proc, args=('test',))
    print('Child process will start.')
    p.start()
    p.join()
    print('Child process end.')
''',
    # A child killed by terminate() with its line still in the buffer.
    'terminate': '''
from multiprocessing import Process
import time
def child():
    print('child: this line is in my buffer')
    time.sleep(5)
if __name__ == '__main__':
    p = Process(target=child)
    p.start()
    time.sleep(0.5)
    p.terminate()
    p.join()
    print('parent: exitcode', p.exitcode)
''',
    # Pool workers print while they run; where does each worker's output come out?
    'pool': '''
from multiprocessing import Pool
import os, time
def task(i):
    print('Run task %s (%s)...' % (i, os.getpid()))
    time.sleep(0.05)
    print('Task %s done (%s).' % (i, os.getpid()))
if __name__ == '__main__':
    p = Pool(2)
    for i in range(6):
        p.apply_async(task, args=(i,))
    p.close()
    p.join()
    print('All subprocesses done.')
''',
    # end=' ' leaves no newline, so even a line-buffered terminal keeps it.
    'end': '''
import time
for i in range(5):
    print(i, end=' ')
    time.sleep(0.2)
print()
''',
    'end-flush': '''
import time
for i in range(5):
    print(i, end=' ', flush=True)
    time.sleep(0.2)
print()
''',
}


def run_pipe(exe, prog, unbuffered=False):
    args = [exe] + (['-u'] if unbuffered else []) + ['-c', prog]
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    return read_timed(p.stdout.fileno(), p)


def run_tty(exe, prog):
    master, slave = pty.openpty()
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    p = subprocess.Popen([exe, '-c', prog], stdout=slave, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    return read_timed(master, p)


def read_timed(fd, p):
    """(seconds after start, bytes) for every read until EOF."""
    t0 = time.monotonic()
    chunks = []
    while True:
        r, _, _ = select.select([fd], [], [], 10)
        if not r:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append((time.monotonic() - t0, data.decode(errors='replace')))
    p.wait()
    return chunks


def text(chunks):
    return ''.join(c for _, c in chunks).replace('\r\n', '\n')


def summarise(case, chunks):
    out = text(chunks)
    if case == 'fork':
        return 'start line printed %d time(s)' % out.count('start...')
    if case == 'process':
        return '"Parent process" printed %d time(s)' % out.count('Parent process')
    if case == 'terminate':
        return 'child line %s' % ('kept' if 'child:' in out else 'lost')
    if case == 'pool':
        lines = [l for l in out.splitlines() if l.startswith(('Run task', 'Task'))]
        whole = [l for l in lines if l.count('(') == 1 and l.endswith(').') or l.endswith(')...')]
        pids = [l.split('(')[-1].rstrip(').') for l in whole]
        runs = sum(1 for a, b in zip(pids, pids[1:]) if a != b) + 1 if pids else 0
        broken = 12 - len(whole)
        return 'one worker\'s lines in %s block(s)%s' % (
            'two' if runs == 2 else 'more than two', ', %d line(s) mixed up' % broken if broken else '')
    if case.startswith('end'):
        digits = [t for t, c in chunks if any(ch.isdigit() for ch in c)]
        spread = digits[-1] - digits[0] if digits else 0
        return 'the digits came %s' % ('all at once, at exit' if spread < 0.1 else 'one by one')
    return out


for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    for case, prog in CASES.items():
        for where in ('pipe', 'tty', 'pipe -u'):
            seen = {}
            for _ in range(RUNS if case not in ('end', 'end-flush') else 2):
                if where == 'tty':
                    chunks = run_tty(exe, prog)
                else:
                    chunks = run_pipe(exe, prog, unbuffered=where == 'pipe -u')
                s = summarise(case, chunks)
                seen[s] = seen.get(s, 0) + 1
            print('%s %-10s %-8s %s' % (version, case, where,
                  '; '.join('%s: %d' % kv for kv in sorted(seen.items()))), flush=True)
