# Issue 16, lesson `condition`: the lesson's own program (lessons/condition.toml,
# knobs applied as the playground applies them) on every CPython under pyenv.
# Per version and knob setting: how many of RUNS runs ended normally, died with
# `IndexError: pop from empty list` in a consumer (the stolen wake-up), or hung
# (still running after HANG seconds: a lost wake-up or a notify that woke the
# wrong thread), and what the default program printed.
#
#   python3 tools/measure/condition.py [RUNS] [VERSION ...]
import glob, os, re, subprocess, sys, tomllib
from collections import Counter

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
WANT = sys.argv[2:]
HANG = 2.0
HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'condition.toml')


def program(**knobs):
    with open(LESSON, 'rb') as f:
        lesson = tomllib.load(f)
    values = {k['name']: str(k['default']).lower() for k in lesson['knob']}
    values.update({k: str(v) for k, v in knobs.items()})
    out = []
    for line in lesson['code'].strip('\n').split('\n'):
        m = re.match(r'\?\{([a-z-]+)=([a-z0-9-]+)\}(.*)', line)
        if m:
            if values[m.group(1)] != m.group(2):
                continue
            line = m.group(3)
        out.append(re.sub(r'\{\{([a-z-]+)\}\}', lambda g: values[g.group(1)], line))
    return '\n'.join(out) + '\n'


def outcome(exe, src):
    try:
        r = subprocess.run([exe, '-c', src], capture_output=True, text=True, timeout=HANG)
    except subprocess.TimeoutExpired as t:
        err = t.stderr.decode() if isinstance(t.stderr, bytes) else (t.stderr or '')
        if 'IndexError: pop from empty list' in err:
            return 'IndexError then hung', ''
        return 'hung', ''
    if 'IndexError: pop from empty list' in r.stderr:
        return 'IndexError', r.stdout
    return ('ok' if r.returncode == 0 else 'exit %d' % r.returncode), r.stdout


SETTINGS = [
    {},
    {'check': 'if'},
    {'check': 'if', 'rounds': 20, 'size': 1},
    {'check': 'none'},
    {'notify': 'one', 'size': 1, 'rounds': 20},
]

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    print('== %s' % version, flush=True)
    kind, stdout = outcome(exe, program())
    print('defaults, one run: %s; printed %d put, %d took, last line %r'
          % (kind, stdout.count(' put '), stdout.count(' took '),
             stdout.strip().split('\n')[-1] if stdout.strip() else ''), flush=True)
    for s in SETTINGS:
        n = RUNS if s else max(RUNS // 4, 1)
        c = Counter(outcome(exe, program(**s))[0] for _ in range(n))
        name = ' '.join('%s=%s' % kv for kv in s.items()) or 'defaults'
        print('%-34s %s' % (name, ', '.join('%s %d/%d' % (k, v, n) for k, v in sorted(c.items()))),
              flush=True)
    r = subprocess.run([exe, '-c', 'try:\n    [].pop(0)\nexcept IndexError as e:\n    print(type(e).__name__ + ": " + str(e))'],
                       capture_output=True, text=True)
    print('[].pop(0) raises:', r.stdout.strip(), flush=True)
