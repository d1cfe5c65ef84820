# Issue 16 item 5: the `futures` lesson's own program (lessons/futures.toml), with
# its knobs applied as the playground applies them, run as a file on every
# CPython under pyenv: what each setting prints, and how often each output came
# out of RUNS runs. The GIL contrast of part=cpu is measured by
# futures_lesson.py (CPU time of the process tree over wall time).
#
#   python3 tools/measure/futures_code.py [RUNS] [VERSION ...]
import collections, glob, os, re, subprocess, sys

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
WANT = sys.argv[2:]
HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'futures.toml')


def code(knobs):
    """The lesson's code with `?{k=v}` / `?{k!=v}` lines and `{{k}}` applied."""
    text = open(LESSON).read().split('code = """', 1)[1].split('"""', 1)[0]
    out = []
    for line in text.strip('\n').split('\n'):
        keep = True
        while True:
            m = re.match(r'\?\{(\w[\w-]*)(!?=)([^}]*)\}', line)
            if not m:
                break
            k, op, v = m.groups()
            keep &= (knobs[k] == v) == (op == '=')
            line = line[m.end():]
        if keep:
            out.append(re.sub(r'\{\{(\w+)\}\}', lambda m: str(knobs[m.group(1)]), line))
    return '\n'.join(out) + '\n'


SETTINGS = [
    {'executor': e, 'part': p, 'n': 5000000}
    for p in ('api', 'cpu') for e in ('thread', 'process')
]

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    print('== %s' % version, flush=True)
    for knobs in SETTINGS:
        path = '/tmp/futures_code_%d.py' % os.getpid()
        with open(path, 'w') as f:
            f.write(code(knobs))
        outputs = collections.Counter()
        for _ in range(RUNS):
            p = subprocess.run([exe, path], capture_output=True, text=True)
            outputs[(p.returncode, p.stdout, p.stderr.strip()[-200:])] += 1
        print('-- executor=%(executor)s part=%(part)s' % knobs)
        for (rc, out, err), k in outputs.most_common():
            print('   %d of %d runs, exit %d:' % (k, RUNS, rc))
            print('      ' + out.strip().replace('\n', '\n      '))
            if err:
                print('      stderr:', err)
    os.unlink(path)
