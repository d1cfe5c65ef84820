# Issue 16, lesson `event`: the lesson's own program (lessons/event.toml, knobs
# applied as the playground applies them) on every CPython under pyenv. Per
# version and knob setting, over RUNS runs: the printed lines (kept in the
# order stdout shows them), whether each worker's `started` came after
# `main: start!`, and how many workers gave up. Then what `Event().wait(0.05)`
# returns on a flag never set.
#
#   python3 tools/measure/event.py [RUNS] [VERSION ...]
import glob, os, re, subprocess, sys, tempfile, tomllib
from collections import Counter

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
WANT = sys.argv[2:]
HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'event.toml')


def program(**knobs):
    with open(LESSON, 'rb') as f:
        lesson = tomllib.load(f)
    values = {k['name']: str(k['default']) for k in lesson['knob']}
    values.update({k: str(v) for k, v in knobs.items()})
    out = []
    for line in lesson['code'].strip('\n').split('\n'):
        m = re.match(r'\?\{([a-z-]+)=([A-Za-z0-9.-]+)\}(.*)', line)
        if m:
            if values[m.group(1)] != m.group(2):
                continue
            line = m.group(3)
        out.append(re.sub(r'\{\{([a-z-]+)\}\}', lambda g: values[g.group(1)], line))
    return '\n'.join(out) + '\n'


def outcome(exe, src):
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(src)
    try:
        r = subprocess.run([exe, f.name], capture_output=True, text=True, timeout=20)
    finally:
        os.unlink(f.name)
    lines = r.stdout.strip().split('\n')
    go = lines.index('main: start!') if 'main: start!' in lines else len(lines)
    # Two threads' print() calls can share a line (print writes the text and
    # the newline separately), so the workers' lines are counted by pattern.
    started = [i for i, l in enumerate(lines) for _ in re.findall(r'worker-\d+ started', l)]
    gave_up = [i for i, l in enumerate(lines) for _ in re.findall(r'giving up', l)]
    return ('started=%d (all after start!: %s) stopped=%d gave_up=%d (all before start!: %s) '
            'last=%r rc=%d' % (len(started), all(i > go for i in started),
                               len(re.findall(r'worker-\d+ stopped', r.stdout)), len(gave_up),
                               all(i < go for i in gave_up), lines[-1], r.returncode))


SETTINGS = [{}, {'timeout': '0.05'}, {'timeout': '0.5'}, {'workers': 4}]

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    print('== %s' % version, flush=True)
    for s in SETTINGS:
        c = Counter(outcome(exe, program(**s)) for _ in range(RUNS))
        name = ' '.join('%s=%s' % kv for kv in s.items()) or 'defaults'
        print('%-16s %s' % (name, '; '.join('%s: %d/%d' % (k, v, RUNS) for k, v in sorted(c.items()))),
              flush=True)
    r = subprocess.run([exe, '-c', 'import threading; e = threading.Event(); '
                        'print("Event().wait(0.05) ->", e.wait(0.05)); e.set(); '
                        'print("after set(), wait() ->", e.wait(), "is_set() ->", e.is_set())'],
                       capture_output=True, text=True)
    print(r.stdout.strip(), flush=True)
