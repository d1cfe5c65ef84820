# Issue 15 (the `queue-api` lesson): runs the lesson's own program (knobs at their
# defaults, taken from lessons/queue-api.toml) on each CPython and checks the shape
# the lesson claims: the two hint lines, put_nowait's queue.Full, six Get lines
# with each writer's letters in its own order, the timed get's queue.Empty. Also
# the tutorial's slips: the keyword `blocked` and the attribute `Queue.Full`.
#
#   python3 tools/measure/queue_api_lesson.py [RUNS] [VERSION ...]   (needs 3.11+ to run)
import collections, glob, os, re, subprocess, sys, tempfile, tomllib

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
WANT = sys.argv[2:]
HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, '..', '..', 'lessons', 'queue-api.toml'), 'rb') as f:
    LESSON = tomllib.load(f)
CODE = LESSON['code'].replace('{{maxsize}}', '3').replace('{{timeout}}', '0.5')
CODE = '\n'.join(l for l in CODE.splitlines() if not l.startswith('?{'))
# An earlier version of the lesson, whose writers printed too (for the glued-lines row).
PRINTING = CODE.replace(
    "        hint = q.full()   # only a hint\n        q.put(value)\n",
    "        print('%s: full() says %s' % (value, q.full()))\n        q.put(value)\n"
    "        print('Put %s to queue...' % value)\n")
assert PRINTING != CODE

SLIPS = r'''
import multiprocessing as mp, queue
if __name__ == '__main__':
    q = mp.Queue(1)
    try:
        q.put(1, blocked=True)
    except TypeError as e:
        print('blocked=: TypeError:', e)
    q.put(1)
    try:
        try:
            q.put_nowait(2)
        except mp.Queue.Full:
            print('caught by mp.Queue.Full')
    except AttributeError as e:
        print('except mp.Queue.Full: AttributeError:', e)
    print('hasattr(q, "Full"):', hasattr(q, 'Full'))
'''

def run(exe, src, unbuffered=False):
    # Python's default: stdout on a pipe is block-buffered. PYTHONUNBUFFERED=1 (or
    # python -u) writes a print's text and its newline separately, and two
    # processes printing at once can then glue lines together.
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONUNBUFFERED'}
    if unbuffered:
        env['PYTHONUNBUFFERED'] = '1'
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(src)
    try:
        r = subprocess.run([exe, f.name], capture_output=True, text=True, timeout=60, env=env)
        return r.returncode, r.stdout, r.stderr
    finally:
        os.unlink(f.name)

LINE = re.compile(r'^(empty: (True|False), full: (True|False), qsize: \d|Process to write: \d+'
                  r'|.: full\(\) says (True|False)|Put . to queue\.\.\.|Get . from queue\.'
                  r'|put_nowait: queue\.Full|get\(True, 0\.5\): queue\.Empty)$')

def shape(out):
    lines = out.splitlines()
    gets = [m.group(1) for l in lines for m in [re.match(r'Get (.) from queue\.', l)] if m]
    return {
        'first hint': 'empty: True, full: False, qsize: 0' in lines,
        'second hint': 'empty: False, full: True, qsize: 3' in lines,
        'put_nowait Full': 'put_nowait: queue.Full' in lines,
        'get timeout Empty': 'get(True, 0.5): queue.Empty' in lines,
        'six gets': len(gets) == 6,
        'own order kept': [g for g in gets if g in 'ABC'] == list('ABC')
            and [g for g in gets if g in 'XYZ'] == list('XYZ'),
        'ten lines': len(lines) == 10,
    }, ''.join(gets)

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    counts, mixes, codes = collections.Counter(), collections.Counter(), collections.Counter()
    for _ in range(RUNS):
        code, out, err = run(exe, CODE)
        codes[code] += 1
        s, mix = shape(out)
        mixes[mix] += 1
        counts.update(k for k, v in s.items() if v)
    print('== %s: %d runs, exit codes %s' % (version, RUNS, dict(codes)))
    for k in ['first hint', 'second hint', 'put_nowait Full', 'six gets', 'own order kept',
              'get timeout Empty', 'ten lines']:
        print('  %-24s %d of %d' % (k, counts[k], RUNS))
    print('  Get orders:', dict(mixes.most_common()))
    for name, src, n in [('the lesson', CODE, 10), ('writers printing too', PRINTING, 22)]:
        glued = 0
        for _ in range(RUNS):
            code, out, err = run(exe, src, unbuffered=True)
            glued += sum(bool(LINE.match(l)) for l in out.splitlines()) != n
        print('  PYTHONUNBUFFERED=1, %s: runs with glued lines %d of %d' % (name, glued, RUNS))
    code, out, err = run(exe, SLIPS)
    print('  ' + out.strip().replace('\n', '\n  '))
    sys.stdout.flush()
