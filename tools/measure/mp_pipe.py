# Topic 7: multiprocessing.Pipe
import multiprocessing as mp
import sys


def child(conn):
    conn.send(["hello", 42])
    print("  child got:", conn.recv())
    sys.stdout.flush()
    conn.close()


def rep(e):
    return "%s: %r (errno=%r)" % (type(e).__name__, str(e), getattr(e, "errno", None))


def main():
    print("version:", sys.version.split()[0])
    a, b = mp.Pipe()
    print("type(Pipe()[0]):", type(a))
    print("Pipe() default duplex: a.readable=%s a.writable=%s b.readable=%s b.writable=%s"
          % (a.readable, a.writable, b.readable, b.writable))
    a.send("ping"); print("b.recv():", repr(b.recv()))
    b.send("pong"); print("a.recv():", repr(a.recv()))
    p = mp.Process(target=child, args=(b,))
    p.start()
    print("parent got:", a.recv())
    a.send("from parent")
    p.join()
    b.close()
    try:
        a.recv()
    except Exception as e:
        print("recv() after other end closed (all copies):", rep(e))
    a.close()

    r, w = mp.Pipe(duplex=False)
    print("Pipe(duplex=False): first.readable=%s first.writable=%s second.readable=%s second.writable=%s"
          % (r.readable, r.writable, w.readable, w.writable))
    try:
        r.send(1)
    except Exception as e:
        print("send on read-only end:", rep(e))
    try:
        w.recv()
    except Exception as e:
        print("recv on write-only end:", rep(e))
    w.close()
    try:
        w.send(1)
    except Exception as e:
        print("send() on a closed connection:", rep(e))
    try:
        w.recv()
    except Exception as e:
        print("recv() on a closed connection:", rep(e))
    try:
        r.recv()
    except Exception as e:
        print("recv() when writer closed:", rep(e))
    r.close()

    a, b = mp.Pipe()
    b.close()
    try:
        a.send("x" * 10)
    except Exception as e:
        print("send() after other end closed:", rep(e))
    print("poll() semantics: ", end="")
    a2, b2 = mp.Pipe()
    print("poll() on empty:", a2.poll(), end="; ")
    b2.send(1)
    print("after send:", a2.poll(0.5))


if __name__ == "__main__":
    main()
