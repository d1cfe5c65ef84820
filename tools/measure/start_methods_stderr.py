# Issue 17 item 6 (the CPython comparison of `start-methods` with guard=off): where
# does CPython write the RuntimeError a spawn or forkserver child raises when it
# reaches p.start() while importing the unguarded module, and with which text?
# Runs the lesson's own unguarded code (lessons/start-methods.toml) on each CPython
# 3.8+ under pyenv and prints, per method: the exit code, whether stdout holds the
# error, how many tracebacks stderr holds, how many of them end with the message
# the simulator shows (compared with whitespace collapsed, as the comparison does:
# CPython indents the message over several lines), and stdout's last line.
#
#   python3 tools/measure/start_methods_stderr.py [VERSION ...]
import glob, os, subprocess, sys, tempfile, tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'start-methods.toml')
WANT = sys.argv[1:]
MESSAGE = ('RuntimeError: An attempt has been made to start a new process before the '
           'current process has finished its bootstrapping phase.')


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


code = tomllib.load(open(LESSON, 'rb'))['code']
for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python3'))):
    version = exe.split('/')[-3]
    if int(version.split('.')[1]) < 8 or (WANT and not any(version.startswith(w) for w in WANT)):
        continue
    for method in ('spawn', 'forkserver', 'fork'):
        d = tempfile.mkdtemp()
        path = os.path.join(d, 'lesson.py')
        open(path, 'w').write(render(code, {'method': method, 'guard': 'off'}))
        env = dict(os.environ)
        env.pop('PYTHONUNBUFFERED', None)
        r = subprocess.run([exe, path], capture_output=True, text=True, timeout=60, env=env, cwd=d)
        words = ' '.join(r.stderr.split())
        print('%-8s %-10s exit %d: stdout has RuntimeError: %s; stderr tracebacks %d, ending with the message %d;'
              ' stdout last: %r' % (version, method, r.returncode, 'RuntimeError' in r.stdout,
                                   r.stderr.count('Traceback (most recent call last):'), words.count(MESSAGE),
                                   r.stdout.splitlines()[-1] if r.stdout else ''), flush=True)
