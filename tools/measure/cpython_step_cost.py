"""Issue 17 item 7 (sub17): what one controlled step costs the interpreter, per
CPython version, counted in instructions (callgrind), not time: the machine is shared.

A stand-in controller (this script) drives assets/cpython/tracer.py over its two
pipes on a one-thread program (balance-race's body, no thread switch), answering
each `at` with `go 0`. Instructions of the interpreter per step = (run of N
iterations - run of 1) / (steps - steps). `--time`: CPU time instead (noisy).

    python3 tools/measure/cpython_step_cost.py [--time] [3.8.18 3.9.18 ...]

The whole round trip (interleave's controller and the interpreter, two threads,
seeded) is counted apart by cpython_step_cost_cg.sh.
"""
import glob
import os
import resource
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRACER = os.path.join(ROOT, 'assets', 'cpython', 'tracer.py')
PROG = '''balance = 0
def change_it(n):
    global balance
    balance = balance + n
    balance = balance - n
for i in range(%d):
    change_it(i)
'''


def run(py, n, d, valgrind):
    with open(os.path.join(d, 'prog.py'), 'w') as f:
        f.write(PROG % n)
    er, ew = os.pipe()
    cr, cw = os.pipe()
    env = dict(os.environ, INTERLEAVE_EVENTS_FD=str(ew), INTERLEAVE_COMMANDS_FD=str(cr),
               INTERLEAVE_MODE='controlled', INTERLEAVE_GRANULARITY='bytecode')
    cmd = [py, TRACER, os.path.join(d, 'prog.py')]
    if valgrind:
        cmd = ['valgrind', '--tool=callgrind', '--callgrind-out-file=%s/cg.%%p' % d] + cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, env=env, pass_fds=(ew, cr), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    os.close(ew)
    os.close(cr)
    steps, buf = 0, b''
    while True:
        chunk = os.read(er, 65536)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b'\n')
        for line in lines:
            if line.startswith(b'at\t'):
                steps += 1
                os.write(cw, b'go 0\n')
            elif line.startswith(b'done\t'):
                os.write(cw, b'end\n')
    p.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    ir = 0
    for f in glob.glob(os.path.join(d, 'cg.*')):
        for line in open(f, errors='replace'):
            if line.startswith(('totals:', 'summary:')):
                ir += int(line.split()[1])
        os.remove(f)
    return steps, cpu, ir


def main():
    timed = '--time' in sys.argv
    versions = [a for a in sys.argv[1:] if not a.startswith('--')] or [
        '3.8.18', '3.9.18', '3.10.13', '3.11.7', '3.12.1', '3.13.0']
    with tempfile.TemporaryDirectory() as d:
        for v in versions:
            py = os.path.expanduser('~/.pyenv/versions/%s/bin/python' % v)
            n = 3000 if timed else 300
            s0, c0, i0 = run(py, 1, d, not timed)
            s1, c1, i1 = run(py, n, d, not timed)
            if timed:
                print('%s: %d steps, %.1f us CPU a step' % (v, s1 - s0, (c1 - c0) * 1e6 / (s1 - s0)))
            else:
                print('%s: %d steps, %.0f instructions a step' % (v, s1 - s0, (i1 - i0) / (s1 - s0)))
            sys.stdout.flush()


if __name__ == '__main__':
    main()
