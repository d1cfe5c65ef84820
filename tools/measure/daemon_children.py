# "daemonic processes are not allowed to have children": a daemonic Process
# whose target starts a Process of its own, on each CPython under pyenv; prints
# the child's stderr (the traceback's last line and the frame that raised),
# the daemon's exitcode, and what the parent printed. Also Process(name=...,
# kwargs=...): the name the child sees and the keyword arguments it got.
#
#   python3 tools/measure/daemon_children.py
import glob, os, subprocess

PROG = r'''
from multiprocessing import Process, current_process
import time

def grandchild():
    print('grandchild runs')

def run_daemon(seconds, greeting='hi'):
    print('%s from %s, %s s' % (greeting, current_process().name, seconds))
    Process(target=grandchild).start()
    time.sleep(seconds)

if __name__ == '__main__':
    d = Process(target=run_daemon, name='Daemon', args=(1,), kwargs={'greeting': 'Hello'})
    d.daemon = True
    d.start()
    d.join()
    print(d.name, d.is_alive(), d.exitcode)
'''

env = dict(os.environ)
env.pop('PYTHONUNBUFFERED', None)
for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python')),
                  key=lambda p: [int(x) for x in p.split('/')[-3].split('.')]):
    ver = exe.split('/')[-3]
    p = subprocess.run([exe, '-c', PROG], capture_output=True, text=True, env=env, timeout=30)
    err = [l for l in p.stderr.splitlines() if l.strip()]
    print('%s: stdout %r; stderr first %r, last two %r; exit %d'
          % (ver, p.stdout, err[:1], err[-2:], p.returncode))
