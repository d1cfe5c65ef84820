# Issue 17 (real CPython as an engine): can the real interpreter be stepped one bytecode
# at a time, by a controller that decides which thread runs next? This forces the
# tutorials' balance interleaving on each interpreter and prints the final balance:
#   t1 reads 0 and computes 5; t2 reads 0 and writes 8; t1 writes 5 (t2's 8 is lost);
#   t1 reads 5 and writes 0; t2 reads 0 and writes -8.
# Each thread's trace function stops before every opcode of change_it
# (frame.f_trace_opcodes, 3.7+) and waits on its own semaphore, which releases the GIL,
# until the controller lets it run one opcode.
#
#   python3 tools/measure/cpython_stepped.py [VERSION ...]
import glob, os, subprocess, sys

WANT = sys.argv[1:]

PROGRAM = r'''
import dis, queue, sys, threading

balance = 0

def change_it(n):
    global balance
    balance = balance + n
    balance = balance - n

def run_thread(n):
    for i in range(1):
        change_it(n)

gate = {}        # thread name -> semaphore the thread waits on before each opcode
arrived = {}     # thread name -> queue of (opname, balance) as it stops, or None when done

def local_trace(frame, event, arg):
    if event == 'opcode':
        me = threading.current_thread().name
        op = dis.opname[frame.f_code.co_code[frame.f_lasti]]
        arrived[me].put((op, balance))
        gate[me].acquire()
    return local_trace

def global_trace(frame, event, arg):
    if frame.f_code is change_it.__code__:
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return local_trace
    return None

def body(n):
    sys.settrace(global_trace)
    try:
        run_thread(n)
    finally:
        sys.settrace(None)
        arrived[threading.current_thread().name].put(None)

# 3.12+ instruments a code object for tracing lazily, on its first traced call, and that
# first call itself misses its opcode events: warm change_it up once (n=0 changes
# nothing) under a trace that does not stop.
def warm_trace(frame, event, arg):
    if frame.f_code is change_it.__code__:
        frame.f_trace_opcodes = True
        return lambda *a: None
    return None
if WARM:
    sys.settrace(warm_trace)
    change_it(0)
    sys.settrace(None)

threads = {}
for name, n in (('t1', 5), ('t2', 8)):
    gate[name] = threading.Semaphore(0)
    arrived[name] = queue.Queue()
    threads[name] = threading.Thread(target=body, args=(n,), name=name)
    threads[name].start()

at = {name: arrived[name].get() for name in threads}   # each stops before its first opcode
log = []

def run_until(name, stop_before, nth=1):
    """Let `name` run opcode by opcode until it stands before the nth `stop_before`
    (None: until it is done)."""
    seen = 0
    while at[name] is not None:
        op, _ = at[name]
        if op == stop_before:
            seen += 1
            if seen == nth:
                return
        gate[name].release()
        at[name] = arrived[name].get()
        log.append('%s %s' % (name, op))

run_until('t1', 'STORE_GLOBAL')        # t1 read 0, computed 5
run_until('t2', 'LOAD_GLOBAL', 2)      # t2 read 0, wrote 8
run_until('t1', 'LOAD_GLOBAL', 2)      # t1 wrote 5: t2's 8 is lost
run_until('t1', None)                  # t1 read 5, wrote 0
run_until('t2', None)                  # t2 read 0, wrote -8
for t in threads.values():
    t.join()
print('balance', balance, '|', ' '.join(log))
'''

for warm in (False, True):
  for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    r = subprocess.run([exe, '-c', 'WARM = %s\n' % warm + PROGRAM], capture_output=True,
                       text=True, timeout=30)
    out = (r.stdout.strip() or r.stderr.strip().splitlines()[-1])
    print('%s %s: %s' % (version, 'warmed up' if warm else 'cold', out), flush=True)
