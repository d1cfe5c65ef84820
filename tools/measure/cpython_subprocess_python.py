"""Issue 17 item 4 (sub17): Python programs a traced program runs by subprocess.

1. What a Python child's sitecustomize sees (sys.argv) and under which file name the
   interpreter compiles `python FILE` and `python -c CODE` (the tracer must know it
   to step the child's own code).
2. The subprocess lesson's own code (every `command`) and two programs that run
   Python children (one inherits stdout, one captures it), each run plain with
   unbuffered stdout and through `interleave run --engine cpython` (seed 1, and
   --live): the printed lines, PIDs masked, must be byte-identical.

    python3 tools/measure/cpython_subprocess_python.py [--versions 3.8,3.13]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import lesson_knobs  # noqa: E402

BIN = os.path.join(ROOT, 'target', 'debug', 'interleave')

SITE = "import sys\nsys.stderr.write('SITE argv=%r\\n' % (sys.argv,))\n"
WHERE = "import sys\nprint('co_filename', sys._getframe().f_code.co_filename)\n"

CHILD = """import os
print('child', os.getpid(), 'says hi')
x = 6 * 7
print('child x', x)
"""
INHERITS = """import subprocess
import sys

print('parent starts')
r = subprocess.call([sys.executable, 'child.py'])
print('call gave', r)
c = subprocess.Popen([sys.executable, '-c', 'import os; print("dash c", os.getpid())'])
print('wait gave', c.wait())
"""
CAPTURES = """import subprocess
import sys
code = 'import sys; print("\\u00e9", 6 * 7); sys.stdout.write("no newline")'
r = subprocess.run([sys.executable, '-c', code], capture_output=True)
print(repr(r.stdout), repr(r.stderr), r.returncode)
out = subprocess.check_output([sys.executable, 'child.py'])
print(repr(out))
p = subprocess.Popen([sys.executable, '-c', 'print(input().upper())'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
got, _ = p.communicate(b'hello from python\\n')
print(got, p.returncode)
"""


def mask(text):
    return re.sub(r'\d{3,}', '<n>', text)


def plain(py, d, prog):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    env.pop('PYTHONPATH', None)
    r = subprocess.run([py, prog], cwd=d, env=env, capture_output=True, timeout=60)
    return r.returncode, mask(r.stdout.decode('utf-8', 'replace'))


def engine(py, d, what, how, knobs=()):
    args = [BIN, 'run', what, '--engine', 'cpython', '--python', py, '--format', 'jsonl',
            '--timeout', '60'] + list(how)
    for k in knobs:
        args += ['--set', k]
    r = subprocess.run(args, cwd=d, capture_output=True, timeout=120)
    lines = [json.loads(l) for l in r.stdout.decode().splitlines()]
    out = ''.join(l['text'] + '\n' for l in lines if l['kind'] == 'output')
    rows = lines[-1].get('threads', []) if lines else []
    return r.returncode, mask(out), len(rows)


def where(py, d):
    site = os.path.join(d, 'site')
    os.makedirs(site, exist_ok=True)
    with open(os.path.join(site, 'sitecustomize.py'), 'w') as f:
        f.write(SITE)
    with open(os.path.join(d, 'where.py'), 'w') as f:
        f.write(WHERE)
    env = dict(os.environ, PYTHONPATH=site)
    for argv in (['where.py'], ['./where.py'], ['-c', WHERE]):
        r = subprocess.run([py] + argv, cwd=d, env=env, capture_output=True, text=True)
        shown = (r.stderr + r.stdout).replace(d, '<dir>').strip().replace('\n', ' | ')
        print('    python %-12s %s' % (argv[0], shown))


def main():
    want = []
    if '--versions' in sys.argv:
        want = sys.argv[sys.argv.index('--versions') + 1].split(',')
    les = lesson_knobs.lesson('subprocess')
    for py in lesson_knobs.versions(want):
        v = py.split('/')[-3]
        if tuple(int(x) for x in v.split('.')[:2]) < (3, 8):
            continue
        print('== CPython %s' % v)
        with tempfile.TemporaryDirectory() as d:
            where(py, d)
            progs = {}
            for command in ('echo', 'false', 'kill'):
                knobs = dict(lesson_knobs.defaults(les), command=command)
                progs['lesson command=%s' % command] = (lesson_knobs.render(les['code'], knobs),
                                                         ['command=%s' % command])
            progs['inherits'] = (INHERITS, [])
            progs['captures'] = (CAPTURES, [])
            with open(os.path.join(d, 'child.py'), 'w') as f:
                f.write(CHILD)
            for name, (code, knobs) in progs.items():
                prog = os.path.join(d, 'prog.py')
                with open(prog, 'w') as f:
                    f.write(code)
                code0, a = plain(py, d, 'prog.py')
                for how in (['--seed', '1'], ['--live']):
                    what = 'subprocess' if name.startswith('lesson') else 'prog.py'
                    code1, b, rows = engine(py, d, what, how, knobs if what == 'subprocess' else ())
                    same = 'identical' if a == b else 'DIFFERENT'
                    print('    %-22s %-8s plain exit %d, engine exit %d, %d rows: %s' % (
                        name, how[0], code0, code1, rows, same))
                    if a != b:
                        print('      plain:  %r\n      engine: %r' % (a, b))


if __name__ == '__main__':
    main()
