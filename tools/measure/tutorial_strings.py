# The tutorial's own Pipe and Queue programs, which send 'Hello shiyanlou'
# between two processes (003_*.txt, "Pipe" and "Queue"), run as written on
# each CPython under pyenv (Linux, start method fork), RUNS times each; and
# what a str costs on the wire: the length of the bytes Connection.send writes
# (a 4-byte length and the pickle) for 'Hello shiyanlou' and for 42.
#
#   python3 tools/measure/tutorial_strings.py [RUNS]
import glob, os, subprocess, sys
from collections import Counter

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5

PIPE = '''
from multiprocessing import Process, Pipe

conn1, conn2 = Pipe()

def f1():
    conn1.send('Hello shiyanlou')

def f2():
    data = conn2.recv()
    print(data)

def main():
    Process(target=f1).start()
    Process(target=f2).start()

if __name__ == '__main__':
    main()
'''

QUEUE = '''
from multiprocessing import Process, Queue

queue = Queue()

def f1(q):
    q.put('Hello shiyanlou')

def f2(q):
    data = q.get()
    print(data)

def main():
    Process(target=f1, args=(queue,)).start()
    Process(target=f2, args=(queue,)).start()

if __name__ == '__main__':
    main()
'''

WIRE = '''
import pickle
from multiprocessing.reduction import ForkingPickler
for v in ('Hello shiyanlou', 42):
    b = bytes(ForkingPickler.dumps(v))
    print(repr(v), 'pickled:', len(b), 'bytes, on the wire:', 4 + len(b))
'''

env = dict(os.environ)
env.pop('PYTHONUNBUFFERED', None)
exes = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python')),
              key=lambda p: [int(x) for x in p.split('/')[-3].split('.')])
for exe in exes:
    ver = exe.split('/')[-3]
    for name, prog in (('pipe', PIPE), ('queue', QUEUE)):
        seen = Counter()
        for _ in range(RUNS):
            try:
                p = subprocess.run([exe, '-c', prog], capture_output=True, text=True,
                                   timeout=10, env=env)
                seen[(p.stdout, p.returncode)] += 1
            except subprocess.TimeoutExpired:
                seen[('', 'timeout')] += 1
        for (out, code), n in seen.items():
            print('%s %s: %d of %d runs printed %r, exit %s' % (ver, name, n, RUNS, out, code))
    p = subprocess.run([exe, '-c', WIRE], capture_output=True, text=True, env=env)
    print(ver, 'wire:', p.stdout.strip().replace('\n', '; '))
