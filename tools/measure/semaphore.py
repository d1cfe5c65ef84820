# Issue 16, lesson `semaphore`: the lesson's own program (lessons/semaphore.toml,
# knobs applied as the playground applies them) on every CPython under pyenv.
# Per version and knob setting, over RUNS runs: the most connections in use at
# once (from the program's own `at most N in use` line), which worker died of
# the ValueError (if any), and whether 3 were in use before that. Then the
# over-release messages of threading and multiprocessing BoundedSemaphore.
#
#   python3 tools/measure/semaphore.py [RUNS] [VERSION ...]
import glob, os, re, subprocess, sys, tempfile, tomllib
from collections import Counter

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
WANT = sys.argv[2:]
HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'semaphore.toml')


def program(**knobs):
    with open(LESSON, 'rb') as f:
        lesson = tomllib.load(f)
    values = {k['name']: str(k['default']) for k in lesson['knob']}
    values.update({k: str(v) for k, v in knobs.items()})
    out = []
    for line in lesson['code'].strip('\n').split('\n'):
        m = re.match(r'\?\{([a-z-]+)=([A-Za-z0-9-]+)\}(.*)', line)
        if m:
            if values[m.group(1)] != m.group(2):
                continue
            line = m.group(3)
        out.append(re.sub(r'\{\{([a-z-]+)\}\}', lambda g: values[g.group(1)], line))
    return '\n'.join(out) + '\n'


def outcome(exe, src):
    # A file, not `-c`: multiprocessing's spawn/forkserver re-import __main__.
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(src)
    try:
        r = subprocess.run([exe, f.name], capture_output=True, text=True, timeout=20)
    finally:
        os.unlink(f.name)
    most = re.search(r'at most (\d+) in use', r.stdout)
    died = re.findall(r'(?:Exception in thread|Process) (worker-\d+)', r.stderr)
    msg = re.findall(r'ValueError: (.*)', r.stderr)
    three_first = False
    if died:
        # Lines printed before the error are not ordered with stderr; count
        # "3 in use" anywhere instead.
        three_first = ' 3 in use' in r.stdout
    lines = r.stdout.count('has a connection')
    return (int(most.group(1)) if most else None, tuple(died), tuple(set(msg)), three_first,
            lines, r.returncode)


SETTINGS = [
    {},
    {'across': 'processes'},
    {'release': 'twice'},
    {'release': 'twice', 'kind': 'BoundedSemaphore'},
    {'release': 'twice', 'across': 'processes'},
    {'release': 'twice', 'kind': 'BoundedSemaphore', 'across': 'processes'},
]

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    print('== %s' % version, flush=True)
    for s in SETTINGS:
        c = Counter()
        for _ in range(RUNS):
            most, died, msg, three, lines, rc = outcome(exe, program(**s))
            key = 'most=%s lines=%d' % (most, lines)
            if died:
                key += ' died=%s %r%s' % (','.join(died), msg, ' (3 in use too)' if three else '')
            c[key] += 1
        name = ' '.join('%s=%s' % kv for kv in s.items()) or 'defaults'
        print('%-58s %s' % (name, '; '.join('%s: %d/%d' % (k, v, RUNS) for k, v in sorted(c.items()))),
              flush=True)
    r = subprocess.run([exe, '-c', '''
import threading, multiprocessing
for s in (threading.BoundedSemaphore(2), multiprocessing.BoundedSemaphore(2)):
    try:
        s.release()
    except ValueError as e:
        print(type(s).__module__, type(e).__name__ + ': ' + str(e))
s = threading.Semaphore(2); s.release(); print('threading.Semaphore(2) after one release:', s._value)
'''], capture_output=True, text=True)
    print(r.stdout.strip(), flush=True)
