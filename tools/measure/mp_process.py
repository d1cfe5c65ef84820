# Topic 4: multiprocessing.Process basics, exit codes, terminate/kill, is_alive.
import multiprocessing as mp
import os
import signal
import sys
import time


def normal():
    pass


def exit1():
    sys.exit(1)


def exit_str():
    sys.exit("bye")


def raiser():
    raise ValueError("boom")


def sleeper():
    time.sleep(30)


def show_name(q):
    q.put((mp.current_process().name, os.getpid(), os.getppid()))


class MyProc(mp.Process):
    def run(self):
        print("  MyProc.run in pid", os.getpid(), "name", self.name)
        sys.stdout.flush()


def main():
    print("version:", sys.version.split()[0])
    print("get_start_method():", mp.get_start_method())
    print("get_all_start_methods():", mp.get_all_start_methods())
    print("current_process().name in main:", repr(mp.current_process().name))
    print("os.cpu_count():", os.cpu_count(), " mp.cpu_count():", mp.cpu_count())
    print("has Process.kill:", hasattr(mp.Process, "kill"), " has Process.close:", hasattr(mp.Process, "close"))

    q = mp.Queue()
    p = mp.Process(target=show_name, args=(q,))
    print("Process(target=...).name:", repr(p.name), " pid before start:", p.pid,
          " is_alive before start:", p.is_alive(), " exitcode before start:", p.exitcode,
          " daemon default:", p.daemon)
    print("repr before start:", repr(p))
    p.start()
    print("is_alive right after start() (child does q.put then exits):", p.is_alive())
    child = q.get()
    p.join()
    print("child reports (name, pid, ppid):", child, " parent pid:", os.getpid(),
          " p.pid == child pid:", p.pid == child[1])
    print("is_alive after join:", p.is_alive(), " exitcode after join:", p.exitcode)
    print("repr after join:", repr(p))
    ps = mp.Process(target=sleeper)
    ps.start()
    print("sleeping child: is_alive after start:", ps.is_alive(), " exitcode while running:", ps.exitcode)
    ps.terminate(); ps.join()
    p2 = mp.Process(target=normal, name="Named")
    print("Process(name='Named').name:", repr(p2.name))
    print("next default name:", repr(mp.Process(target=normal).name))

    def code(target, label):
        pr = mp.Process(target=target)
        pr.start()
        pr.join()
        print("exitcode %-25s -> %r" % (label, pr.exitcode))
        sys.stdout.flush()
        return pr

    sys.stdout.flush()
    code(normal, "normal return")
    code(exit1, "sys.exit(1)")
    code(exit_str, "sys.exit('bye')")
    sys.stderr.write("---- stderr of child raising ValueError follows ----\n")
    sys.stderr.flush()
    code(raiser, "raise ValueError")
    sys.stderr.write("---- end ----\n")
    sys.stderr.flush()

    pr = mp.Process(target=sleeper)
    pr.start()
    pr.terminate()
    pr.join()
    print("exitcode after terminate()+join:", pr.exitcode, " is_alive:", pr.is_alive())
    print("repr after terminate:", repr(pr))
    if hasattr(pr, "kill"):
        pr = mp.Process(target=sleeper)
        pr.start()
        pr.kill()
        pr.join()
        print("exitcode after kill()+join:", pr.exitcode)
        print("repr after kill:", repr(pr))
    else:
        print("Process.kill(): absent (added in 3.7)")

    # is_alive() immediately after terminate(), no join, many trials
    N = 100
    imm_true = 0
    after_sleep_true = 0
    exitcodes = {}
    for i in range(N):
        pr = mp.Process(target=sleeper)
        pr.start()
        if i % 2 == 1:
            time.sleep(0.01)  # let the child actually be running in sleep()
        pr.terminate()
        if pr.is_alive():
            imm_true += 1
        pr.join()
        exitcodes[pr.exitcode] = exitcodes.get(pr.exitcode, 0) + 1
    print("is_alive() immediately after terminate() (no join): True in %d/%d trials; exitcodes after join: %r"
          % (imm_true, N, exitcodes))
    M = 20
    for i in range(M):
        pr = mp.Process(target=sleeper)
        pr.start()
        pr.terminate()
        time.sleep(0.1)
        if pr.is_alive():
            after_sleep_true += 1
        pr.join()
    print("is_alive() 0.1 s after terminate() (no join): True in %d/%d trials" % (after_sleep_true, M))

    # subclass with run()
    mp_ = MyProc()
    print("subclass name:", repr(mp_.name))
    sys.stdout.flush()
    mp_.start()
    mp_.join()
    print("subclass exitcode:", mp_.exitcode)

    # daemon flag
    d = mp.Process(target=sleeper, daemon=True)
    print("Process(daemon=True).daemon:", d.daemon)
    d.start()
    print("daemon child started; main exits without joining (daemon child is terminated at exit)")
    # non-daemon join semantics
    try:
        d2 = mp.Process(target=normal)
        d2.start()
        d2.daemon = True
    except Exception as e:
        print("setting daemon after start:", type(e).__name__ + ":", e)
    d2.join()
    try:
        mp.Process(target=normal).join()
    except Exception as e:
        print("join() before start():", type(e).__name__ + ":", e)
    try:
        pr = mp.Process(target=normal)
        pr.start(); pr.join(); pr.start()
    except Exception as e:
        print("start() twice:", type(e).__name__ + ":", e)


if __name__ == "__main__":
    main()
