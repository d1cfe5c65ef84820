# Issue 15 (the `pool-results` lesson): runs the lesson's own code
# (lessons/pool-results.toml) for every value of its `api` knob on each CPython
# version, several times, with stdout a pipe, and prints each distinct output with
# how many runs gave it and the exit code.
#
#   python3 tools/measure/pool_results_lesson.py [RUNS] [VERSION ...]
import collections, glob, os, subprocess, sys, tempfile, tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'pool-results.toml')
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
WANT = sys.argv[2:]


def render(code, knobs):
    out = []
    for line in code.splitlines():
        if line.startswith('?{'):
            cond, rest = line[2:].split('}', 1)
            name, value = cond.split('=', 1)
            if knobs.get(name) != value:
                continue
            line = rest
        for k, v in knobs.items():
            line = line.replace('{{%s}}' % k, v)
        out.append(line)
    return '\n'.join(out) + '\n'


lesson = tomllib.load(open(LESSON, 'rb'))
apis = next(k for k in lesson['knob'] if k['name'] == 'api')['options']
for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    for api in apis:
        prog = render(lesson['code'], {'api': api})
        with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
            f.write(prog)
        seen = collections.Counter()
        for _ in range(RUNS):
            env = dict(os.environ)
            env.pop('PYTHONUNBUFFERED', None)
            r = subprocess.run([exe, f.name], capture_output=True, text=True, timeout=60, env=env)
            last = r.stderr.strip().splitlines()[-1:] if r.stderr.strip() else []
            seen[(r.returncode, r.stdout, ' '.join(last))] += 1
        os.unlink(f.name)
        for (code, out, err), n in seen.most_common():
            print('%s api=%-14s %d/%d exit %s: %s%s' % (version, api, n, RUNS, code,
                  ' | '.join(out.splitlines()), ('  [stderr: %s]' % err) if err else ''), flush=True)

# Two claims of the lesson's text, per version: multiprocessing.TimeoutError is not
# the builtin TimeoutError, and how repr() shows the ValueError get() re-raises.
CLAIMS = r'''
import multiprocessing, builtins
print('issubclass(multiprocessing.TimeoutError, builtins.TimeoutError):',
      issubclass(multiprocessing.TimeoutError, builtins.TimeoutError),
      '| its name:', multiprocessing.TimeoutError.__module__ + '.' + multiprocessing.TimeoutError.__qualname__,
      '| repr:', repr(ValueError('negative: -7')))
'''
for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    r = subprocess.run([exe, '-c', CLAIMS], capture_output=True, text=True, timeout=60)
    print('%s %s' % (version, r.stdout.strip() or r.stderr.strip()), flush=True)
