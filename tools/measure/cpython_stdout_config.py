"""How CPython sets up sys.stdout at start-up, on a pipe, under -u and on a
pseudo-terminal: what the cpython engine's buffered stdout (INTERLEAVE_STDOUT in
assets/cpython/tracer.py) copies. PYTHONUNBUFFERED is removed from the environment.

    python3 tools/measure/cpython_stdout_config.py

Prints, per version: line_buffering, write_through, the buffer layer's type, the
raw layer's type, isatty().
"""
import os
import pty
import subprocess

CODE = ("import sys; s = sys.stdout; b = getattr(s, 'buffer', None); "
        "print(s.line_buffering, s.write_through, type(b).__name__, "
        "type(getattr(b, 'raw', b)).__name__, s.isatty())")
VERSIONS = ['3.8.18', '3.9.18', '3.10.13', '3.11.7', '3.12.1', '3.13.0']


def main():
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONUNBUFFERED'}
    for v in VERSIONS:
        py = os.path.expanduser('~/.pyenv/versions/%s/bin/python3' % v)
        if not os.path.exists(py):
            continue
        pipe = subprocess.run([py, '-c', CODE], stdout=subprocess.PIPE, env=env).stdout
        unbuf = subprocess.run([py, '-u', '-c', CODE], stdout=subprocess.PIPE, env=env).stdout
        master, slave = pty.openpty()
        subprocess.run([py, '-c', CODE], stdout=slave, env=env)
        os.close(slave)
        tty = os.read(master, 1000)
        os.close(master)
        print(v, 'pipe:', pipe.decode().strip(), '| -u:', unbuf.decode().strip(),
              '| pty:', tty.decode().strip())


if __name__ == '__main__':
    main()
