# Several processes writing to one terminal (issue 15; RESULTS.md §19.6).
#
# 1. How many write(2) calls one print() makes, by strace -f -e trace=write:
#    python -u print('a'); python -u print('a', 'b'); print('a') on a terminal
#    (line-buffered); print('a', flush=True) on a pipe; python -u print('a',
#    end=' '). Each on every pyenv CPython given.
# 2. The buffering lesson's fork example under python -u on a fresh
#    pseudo-terminal, RUNS times per version: how often the parent's and the
#    child's line ran together (a line holding both texts, then an empty line).
# 3. os.fork() timing: how long after the fork the parent and the child go on
#    (time.perf_counter, CLOCK_MONOTONIC, the same clock in both processes).
#
#   python3 tools/measure/terminal_writes.py [--runs N] [--versions 3.8,3.13]
#
# PYTHONUNBUFFERED is removed from the children's environment (it is set on
# this machine). Prints the machine's load average first: the join rate depends
# on how busy the cores are.
import glob, os, pty, re, subprocess, sys, tempfile

FORK_U = """import os
print('Process (%s) start...' % os.getpid())
pid = os.fork()
if pid == 0:
    print('I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid()))
else:
    print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
    os.waitpid(pid, 0)
"""

FORK_TIME = """import os, time
t0 = time.perf_counter()
pid = os.fork()
t1 = time.perf_counter()
if pid == 0:
    os.write(1, ('child %d\\n' % ((t1 - t0) * 1e6)).encode())
    os._exit(0)
os.write(1, ('parent %d\\n' % ((t1 - t0) * 1e6)).encode())
os.waitpid(pid, 0)
"""

ENV = {k: v for k, v in os.environ.items() if k != 'PYTHONUNBUFFERED'}


def pythons(versions):
    found = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python')))
    out = []
    for p in found:
        v = p.split('/')[-3]
        if not versions or any(v.startswith(w + '.') for w in versions):
            out.append((v, p))
    return out


def on_pty(argv):
    """Runs argv with a fresh pseudo-terminal as stdin/stdout/stderr; gives the bytes."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, ENV)
    got = b''
    while True:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        got += d
    os.waitpid(pid, 0)
    os.close(fd)
    return got.decode(errors='replace').replace('\r\n', '\n')


def writes(py, args, tty):
    """The write(2) calls to fd 1 of `py args`, as strace shows them."""
    with tempfile.NamedTemporaryFile('r', suffix='.strace') as log:
        cmd = ['strace', '-f', '-e', 'trace=write', '-o', log.name, py] + args
        if tty:
            on_pty(['/usr/bin/env'] + cmd)
        else:
            subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        calls = [l for l in log.read().splitlines() if 'write(1,' in l]
    return [re.sub(r'^\d+\s+write\(1, ("[^"]*"), \d+\).*$', r'\1', c) for c in calls]


def main():
    args = sys.argv[1:]
    runs = int(args[args.index('--runs') + 1]) if '--runs' in args else 10
    versions = args[args.index('--versions') + 1].split(',') if '--versions' in args else []
    print('load average: %.2f %.2f %.2f' % os.getloadavg())
    cases = [
        ('-u print(a)', ['-u', '-c', "print('a')"], False),
        ('-u print(a, b)', ['-u', '-c', "print('a', 'b')"], False),
        ("-u print(a, end=' ')", ['-u', '-c', "print('a', end=' ')"], False),
        ('tty print(a)', ['-c', "print('a')"], True),
        ('pipe print(a, flush=True)', ['-c', "print('a', flush=True)"], False),
    ]
    with tempfile.TemporaryDirectory() as d:
        fork_u = os.path.join(d, 'fork_u.py')
        fork_time = os.path.join(d, 'fork_time.py')
        with open(fork_u, 'w') as f:
            f.write(FORK_U)
        with open(fork_time, 'w') as f:
            f.write(FORK_TIME)
        for v, py in pythons(versions):
            print('== %s' % v)
            for name, a, tty in cases:
                w = writes(py, a, tty)
                print('  %-28s %d write(2): %s' % (name, len(w), ' '.join(w)))
            joined = 0
            for _ in range(runs):
                out = on_pty([py, '-u', fork_u]).split('\n')
                both = [l for l in out if 'just created' in l and 'I am child' in l]
                joined += bool(both) and '' in out[:-1]
            print('  fork example, python -u, pty: joined in %d of %d runs' % (joined, runs))
            times = {'parent': [], 'child': []}
            for _ in range(runs):
                r = subprocess.run([py, fork_time], env=ENV, stdout=subprocess.PIPE, text=True)
                for line in r.stdout.split('\n'):
                    if line:
                        who, us = line.split()
                        times[who].append(int(us))
            for who, t in times.items():
                t.sort()
                print('  os.fork() to the %s going on: median %d us (min %d, max %d)'
                      % (who, t[len(t) // 2], t[0], t[-1]))
    print('load average: %.2f %.2f %.2f' % os.getloadavg())


if __name__ == '__main__':
    main()
