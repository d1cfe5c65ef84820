# interleave: put on PYTHONPATH (in the run's own temporary folder) for a traced
# program, so that a new interpreter the program starts is followed too: it loads the
# tracer and connects to the controller. That is a process multiprocessing starts with
# spawn or forkserver, and a Python program the traced one runs with subprocess (its
# parent marks it: INTERLEAVE_SUBPROCESS says where its stdout goes). Any other
# Python process (multiprocessing's resource tracker, a grandchild, an unrelated
# interpreter) is left alone. Either way this folder leaves sys.path, and the
# sitecustomize that would have run without it runs.
import os
import sys


def _interleave():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    tracer = os.environ.get('INTERLEAVE_TRACER')
    parent = os.environ.get('INTERLEAVE_PARENT')
    # Set by the parent for this process alone: its own children must not see it.
    stdout = os.environ.pop('INTERLEAVE_SUBPROCESS', None)
    # Only a child of a traced process: its PID is in INTERLEAVE_PARENT.
    if not tracer or not parent or str(os.getppid()) != parent:
        return
    if stdout is not None:
        _load(tracer).subprocessed(stdout)
        return
    try:
        with open('/proc/self/cmdline', 'rb') as f:
            cmdline = f.read()
    except OSError:
        return
    if b'from multiprocessing.spawn import spawn_main' in cmdline and '--multiprocessing-fork' in sys.argv:
        server = False
    elif b'from multiprocessing.forkserver import main' in cmdline:
        server = True
    else:
        return
    _load(tracer).spawned(server)


def _load(tracer):
    import importlib.util
    spec = importlib.util.spec_from_file_location('_interleave_tracer', tracer)
    module = importlib.util.module_from_spec(spec)
    sys.modules['_interleave_tracer'] = module
    spec.loader.exec_module(module)
    return module


def _chain():
    """The next sitecustomize on the path, if there is one, as site would run it."""
    mine = sys.modules.pop('sitecustomize', None)
    try:
        import sitecustomize  # noqa: F401  (not this file: its folder has left sys.path)
    except ImportError as e:
        if getattr(e, 'name', None) != 'sitecustomize':
            raise
    finally:
        # The import system takes back what is under this name once this file ends.
        sys.modules.setdefault('sitecustomize', mine)


_interleave()
del _interleave, _load
_chain()
