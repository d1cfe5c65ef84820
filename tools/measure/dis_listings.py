# Issue 10.14: what CPython's `dis` prints for each lesson's program, line by line,
# on the CPython the lesson's bytecode view stands for. Writes
# tools/measure/dis/<lesson>.json; tests/truth.rs compares the playground's bytecode
# view with these files (it does not need pyenv; this script regenerates them).
#
# Which CPython: the lesson's `python` knob when it has one (a range such as
# "3.10-3.13" stands for its newest version), else its `gil` knob (gil-classic is
# CPython <= 3.9: 3.9; gil-modern and free: 3.13), else 3.13.
#
# Run: python3 tools/measure/dis_listings.py   (Python 3.11+, for tomllib)
import json
import os
import subprocess
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYENV = os.path.expanduser("~/.pyenv/versions")

# The knob settings listed per lesson (each on top of the defaults). Every value of
# a `python` or `gil` knob is added to each of them.
SETUPS = {
    "balance-race": [{}, {"lock": "on"}],
    "buffering": [{}, {"show": "process"}, {"show": "terminate"}, {"show": "end", "fix": "flush"}],
    "deadlock": [{}, {"consistent-order": "on"}],
    "fork": [{}],
    "gil": [{}, {"run-as": "processes"}],
    "pipe": [{}, {"close": "off"}],
    "pool": [{}, {"mistake": "join-before-close"}, {"mistake": "apply-after-close"}],
    "process": [{}, {"style": "subclass", "daemon": "on", "terminate": "on"}],
    "queue": [{}, {"nowait": "on"}],
    "subprocess": [{}, {"command": "false"}, {"command": "kill"}],
    "thread-local": [{}, {"bind": "off", "main-reads": "on"}],
    "threads": [{}, {"named": "off"}],
    "tickets": [{}, {"lock": "on"}],
    "value-race": [{}, {"lock": "on"}],
}

# What each interpreter runs: the program's code objects, every instruction as dis
# prints it, grouped by the line it belongs to.
PROBE = r'''
import dis, json, re, sys, types
src = sys.stdin.read()
code = compile(src, "<lesson>", "exec")
lines = {}
def walk(co):
    line = None
    for ins in dis.get_instructions(co):
        n = getattr(ins, "line_number", None)
        if n is None and hasattr(ins, "positions") and sys.version_info >= (3, 11):
            n = ins.positions.lineno
        if n is None and isinstance(ins.starts_line, int) and not isinstance(ins.starts_line, bool):
            line = ins.starts_line
        n = n if n is not None else line
        if n is None:
            continue
        arg = "" if ins.arg is None else str(ins.arg)
        # A code object's address changes from run to run; the listing must not.
        what = re.sub(r" at 0x[0-9a-f]+", "", ins.argrepr)
        lines.setdefault(n, []).append([ins.opname, arg, what])
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            walk(c)
walk(code)
print(json.dumps({"version": sys.version.split()[0], "lines": lines}))
'''


def knob_value(spec, v):
    if spec["kind"] == "bool":
        if isinstance(v, bool):
            return v
        return v in ("on", "true", "yes", "1")
    if spec["kind"] == "int":
        return int(v)
    return str(v)


def render(lesson, settings):
    """The lesson's code as the playground renders it (`?{knob=value}` lines and
    `{{knob}}` holes), for the knob settings given."""
    specs = {k["name"]: k for k in lesson.get("knob", [])}
    values = {n: knob_value(s, s["default"]) for n, s in specs.items()}
    for n, v in settings.items():
        values[n] = knob_value(specs[n], v)
    out = []
    for line in lesson["code"].splitlines():
        # Several marks may lead a line, all of which must hold; `!=` negates.
        shown = True
        while line.startswith("?{"):
            cond, line = line[2:].split("}", 1)
            negated = "!=" in cond
            name, _, want = cond.partition("!=" if negated else "=")
            if name not in specs or (values[name] == knob_value(specs[name], want)) == negated:
                shown = False
        if not shown:
            continue
        for n, v in values.items():
            line = line.replace("{{%s}}" % n, str(v).lower() if isinstance(v, bool) else str(v))
        out.append(line)
    # The playground numbers the code's lines as they are shown (the leading empty
    # line of the TOML string is not part of it).
    text = "\n".join(out) + "\n"
    return text


def interpreter(minor):
    for d in sorted(os.listdir(PYENV)):
        if d.startswith("3.%d." % minor):
            return os.path.join(PYENV, d, "bin", "python")
    raise SystemExit("no CPython 3.%d under %s" % (minor, PYENV))


def versions(lesson):
    """(knob settings, CPython minor) pairs the lesson's view stands for."""
    specs = {k["name"]: k for k in lesson.get("knob", [])}
    if "python" in specs:
        out = []
        for o in specs["python"]["options"]:
            newest = o.split("-")[-1]
            out.append(({"python": o}, int(newest.split(".")[1])))
        return out
    if "gil" in specs:
        m = {"gil-classic": 9, "gil-modern": 13, "free": 13}
        return [({"gil": o}, m[o]) for o in specs["gil"]["options"]]
    return [({}, 13)]


def main():
    for lid, setups in sorted(SETUPS.items()):
        with open(os.path.join(ROOT, "lessons", lid + ".toml"), "rb") as f:
            lesson = tomllib.load(f)
        listings = []
        for base in setups:
            for extra, minor in versions(lesson):
                settings = dict(base, **extra)
                code = render(lesson, settings)
                r = subprocess.run([interpreter(minor), "-c", PROBE], input=code.encode(),
                                   stdout=subprocess.PIPE, check=True)
                got = json.loads(r.stdout)
                listings.append({"knobs": settings, "python": got["version"], "code": code,
                                 "lines": got["lines"]})
        path = os.path.join(HERE, "dis", lid + ".json")
        with open(path, "w") as f:
            json.dump({"lesson": lid, "generated_by": "tools/measure/dis_listings.py",
                       "listings": listings}, f, indent=1)
            f.write("\n")
        print(path, len(listings), "listings")


if __name__ == "__main__":
    main()
