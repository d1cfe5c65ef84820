# Issue 15 (the `start-methods` lesson): runs the lesson's own code
# (lessons/start-methods.toml) for every `method` and `guard` on each CPython
# version, with stdout a pipe, and prints each distinct output (lines sorted: two
# children print at the same time), the exit code and stderr's last line.
#
#   python3 tools/measure/start_methods_lesson.py [RUNS] [VERSION ...]
import collections, glob, os, subprocess, sys, tempfile, tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'start-methods.toml')
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
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
knob = {k['name']: k['options'] for k in lesson['knob']}
for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    for method in knob['method']:
        for guard in knob['guard']:
            prog = render(lesson['code'], {'method': method, 'guard': guard})
            d = tempfile.mkdtemp()
            path = os.path.join(d, 'lesson.py')
            open(path, 'w').write(prog)
            seen = collections.Counter()
            for _ in range(RUNS):
                env = dict(os.environ)
                env.pop('PYTHONUNBUFFERED', None)
                try:
                    r = subprocess.run([exe, path], capture_output=True, text=True, timeout=30, env=env, cwd=d)
                    err = [l for l in r.stderr.splitlines() if l.strip()]
                    errs = sorted(set(l.strip() for l in err if 'Error' in l))
                    seen[(r.returncode, ' | '.join(sorted(r.stdout.splitlines())), ' ; '.join(errs))] += 1
                except subprocess.TimeoutExpired:
                    seen[('timeout', '', '')] += 1
            for (code, out, err), n in seen.most_common():
                print('%s method=%-10s guard=%-3s %d/%d exit %s: %s%s' % (version, method, guard, n, RUNS, code,
                      out, ('  [stderr: %s]' % err) if err else ''), flush=True)

# Who runs the top level under forkserver: each child (its parent is the fork
# server, not the main process), or the server itself?
WHO = r'''
import multiprocessing as mp, os
print('top level: %s pid %s ppid %s' % (__name__, os.getpid(), os.getppid()), flush=True)
def f(name):
    print('child %s pid %s ppid %s' % (name, os.getpid(), os.getppid()), flush=True)
if __name__ == '__main__':
    mp.set_start_method('forkserver')
    ps = [mp.Process(target=f, args=(n,)) for n in 'AB']
    for p in ps:
        p.start()
    for p in ps:
        p.join()
'''
for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    d = tempfile.mkdtemp()
    path = os.path.join(d, 'who.py')
    open(path, 'w').write(WHO)
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    r = subprocess.run([exe, path], capture_output=True, text=True, timeout=30, cwd=d, env=env)
    lines = r.stdout.splitlines()
    main_pid = lines[0].split()[4] if lines else '?'
    tops = [l for l in lines if l.startswith('top level: __mp_main__')]
    kids = [l for l in lines if l.startswith('child')]
    kid_pids = {l.split()[3] for l in kids}
    print('%s forkserver: %d __mp_main__ top-level lines, printed by the children: %s; '
          'the children\'s parent is the main process: %s' % (
              version, len(tops), all(t.split()[4] in kid_pids for t in tops),
              any(k.split()[5] == main_pid for k in kids)), flush=True)
