# Issue 10.15: does the forked child's os.getppid() equal the parent's PID when the
# fork lesson's own program runs as a student runs it (stdout a terminal, nothing
# waits for the child)? The parent returns at once after fork(); if it has exited by
# the time the child calls getppid(), the child is re-parented (to init, PID 1, or
# to a subreaper) and prints that PID instead.
#
# Run: python3 fork_getppid.py [RUNS]   (uses every ~/.pyenv/versions/3.*)
import glob
import os
import pty
import re
import subprocess
import sys
import time

LESSON = r'''
import os

print('Process (%s) start...' % os.getpid())
# Only works on Unix/Linux/Mac:
pid = os.fork()
if pid == 0:
    print('I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid()))
else:
    print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
'''


def run_piped(python):
    """Runs the lesson with stdout a pipe; gives (parent pid, child's getppid())."""
    p = subprocess.run([python, "-c", LESSON], stdout=subprocess.PIPE, timeout=10)
    return parse(p.stdout.decode(errors="replace"))


def parse(out):
    start = re.search(r"Process \((\d+)\) start", out)
    child = re.search(r"my parent is (\d+)\.", out)
    if not start or not child:
        return None
    return int(start.group(1)), int(child.group(1))


def run_once(python):
    """Runs the lesson on a pseudo-terminal; gives (parent pid, child's getppid())."""
    master, slave = pty.openpty()
    p = subprocess.Popen([python, "-c", LESSON], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    deadline = time.time() + 10
    # Read until the child's line has arrived (the child may outlive the parent).
    while time.time() < deadline:
        try:
            d = os.read(master, 4096)
        except OSError:
            break
        if not d:
            break
        chunks.append(d)
        if b"my parent is" in b"".join(chunks) and b"just created" in b"".join(chunks):
            break
    p.wait(timeout=10)
    os.close(master)
    return parse(b"".join(chunks).decode(errors="replace"))


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    for python in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python")),
                         key=lambda p: [int(x) for x in p.split("/")[-3].split(".")]):
        version = python.split("/")[-3]
        for how, run in (("terminal", run_once), ("pipe", run_piped)):
            same = other = lost = 0
            others = set()
            for _ in range(runs):
                r = run(python)
                if r is None:
                    lost += 1
                elif r[0] == r[1]:
                    same += 1
                else:
                    other += 1
                    others.add(r[1])
            print(f"{version} ({how}): child's getppid() == parent's pid in {same} of {runs} "
                  f"runs; another PID in {other} {sorted(others)}; no child line in {lost}")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
