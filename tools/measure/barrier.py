# Issue 16, lesson `barrier`: the lesson's own program (lessons/barrier.toml, knobs
# applied as the playground applies them) on every CPython under pyenv, and what
# threading.Barrier's error looks like on each.
#
# Per version and knob setting, RUNS runs: whether every `finished phase 2` line
# came after all three `finished phase 1` lines (the barrier's promise), how many
# BrokenBarrierError lines each run printed (and in which phase), whether it
# hung, and the distinct outputs. Then the exception itself: its class, base
# class, str() and repr() after a timeout and after abort(), what wait() returns,
# and what an uncaught one prints in a thread.
#
#   python3 tools/measure/barrier.py [RUNS] [VERSION ...]
import glob, os, re, subprocess, sys, tomllib
from collections import Counter

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
WANT = sys.argv[2:]
HANG = 10.0
HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'barrier.toml')


def program(**knobs):
    with open(LESSON, 'rb') as f:
        lesson = tomllib.load(f)
    values = {k['name']: str(k['default']).lower() for k in lesson['knob']}
    values.update({k: str(v) for k, v in knobs.items()})
    out = []
    for line in lesson['code'].strip('\n').split('\n'):
        keep = True
        while True:
            m = re.match(r'\?\{([a-z-]+)(!?=)([a-z0-9-]+)\}(.*)', line)
            if not m:
                break
            same = values[m.group(1)] == m.group(3)
            keep = keep and (same if m.group(2) == '=' else not same)
            line = m.group(4)
        if keep:
            out.append(re.sub(r'\{\{([a-z-]+)\}\}', lambda g: values[g.group(1)], line))
    return '\n'.join(out) + '\n'


def phases_in_order(lines, phases):
    """Every `finished phase k+1` comes after all three `finished phase k`.
    Looked for in the whole output: print() writes its text and its newline
    separately, so two threads' lines can run together on one line."""
    seen = Counter()
    for m in re.finditer(r'worker-\d finished phase (\d+)', '\n'.join(lines)):
        k = int(m.group(1))
        if k > 1 and seen[k - 1] < 3:
            return False
        seen[k] += 1
    return True


def torn(lines):
    """A line holding two threads' prints (text, then newline, written apart)."""
    return any(len(re.findall(r'worker-\d[ :]|--- all', l)) > 1 for l in lines)


def run(exe, src):
    try:
        r = subprocess.run([exe, '-c', src], capture_output=True, text=True, timeout=HANG)
    except subprocess.TimeoutExpired:
        return 'hung', []
    lines = [l for l in r.stdout.split('\n') if l]
    return ('ok' if r.returncode == 0 and not r.stderr else 'exit %d %r' % (r.returncode, r.stderr[-200:])), lines


SETTINGS = [
    {},
    {'work': 'none'},
    {'fail': 'timeout'},
    {'fail': 'timeout', 'work': 'none'},
    {'fail': 'abort'},
    {'fail': 'abort', 'work': 'none'},
    {'phases': 5, 'work': 'none'},
]

FACTS = r'''
import threading, sys
b = threading.Barrier(2, timeout=0.1)
try:
    b.wait()
except threading.BrokenBarrierError as e:
    print('timeout: class', type(e).__module__ + '.' + type(e).__qualname__,
          'base', type(e).__mro__[1].__name__, 'str', repr(str(e)), 'repr', repr(e),
          'broken', b.broken, 'n_waiting', b.n_waiting)
try:
    b.wait()
except threading.BrokenBarrierError as e:
    print('wait on a broken barrier raises at once:', repr(e))
b = threading.Barrier(2)
got = []
t = threading.Thread(target=lambda: got.append(b.wait()))
t.start()
got.append(b.wait())
t.join()
print('wait() returns', sorted(got), 'parties', b.parties, 'broken', b.broken)
b = threading.Barrier(2)
errs = []
def w():
    try:
        b.wait()
    except threading.BrokenBarrierError as e:
        errs.append(repr(e))
t = threading.Thread(target=w)
t.start()
while b.n_waiting < 1:
    pass
b.abort()
t.join()
print('abort wakes the waiter with', errs, 'broken', b.broken)
b.reset()
print('after reset() broken', b.broken)
b = threading.Barrier(2, timeout=0.05)
t = threading.Thread(target=b.wait, name='worker-1')
t.start()
t.join()
'''

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    print('== %s' % version, flush=True)
    for s in SETTINGS:
        kinds, outputs, order, broken, tears = Counter(), Counter(), 0, Counter(), 0
        for _ in range(RUNS):
            kind, lines = run(exe, program(**s))
            kinds[kind] += 1
            outputs['\n'.join(lines)] += 1
            order += phases_in_order(lines, int(s.get('phases', 2)))
            tears += torn(lines)
            for m in re.finditer(r'BrokenBarrierError in phase (\d+)', '\n'.join(lines)):
                broken['phase ' + m.group(1)] += 1
        name = ' '.join('%s=%s' % kv for kv in s.items()) or 'defaults'
        print('%-24s %s; phases in order %d/%d; BrokenBarrierError lines %s; %d distinct outputs; '
              '%d with two prints on one line'
              % (name, ', '.join('%s %d' % kv for kv in sorted(kinds.items())), order, RUNS,
                 dict(sorted(broken.items())) or 0, len(outputs), tears), flush=True)
        if s in ({}, {'fail': 'timeout'}, {'fail': 'abort'}):
            print('  most common output:\n    ' + outputs.most_common(1)[0][0].replace('\n', '\n    '))
    r = subprocess.run([exe, '-c', FACTS], capture_output=True, text=True, timeout=30)
    print(r.stdout.rstrip())
    print('uncaught in a thread, last stderr line:', repr(r.stderr.strip().split('\n')[-1]), flush=True)
