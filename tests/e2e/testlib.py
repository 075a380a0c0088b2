"""Shared by the Python end-to-end scripts (import testlib; they run with
/usr/bin/python3 from this directory): their PASS/FAIL lines, running their
tests each with a deadline, room names and short reprs. What each script
checks stays in it."""
import asyncio
import sys
import uuid


class Checks:
    """The checks of one script: report(name, ok, why) prints `PASS TAG: name`
    or `FAIL TAG: name: why` and counts it."""

    def __init__(self, tag: str):
        self.tag = tag
        self.passed = 0
        self.failed = 0

    def report(self, name: str, ok: bool, why: str = "") -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'PASS' if ok else 'FAIL'} {self.tag}: {name}{'' if ok else ': ' + why}", flush=True)

    def exit(self) -> None:
        """Exits 1 if any check failed, else 0."""
        sys.exit(1 if self.failed else 0)

    def run_all(self, tests, deadline: float) -> None:
        """Runs each async test in turn with `deadline` seconds; a test that
        raises (or runs out of time) is a FAIL named after it. Then exits."""
        async def run():
            for t in tests:
                try:
                    await asyncio.wait_for(t(), deadline)
                except Exception as e:  # any failure of one test is that test's FAIL
                    self.report(t.__name__, False, f"{type(e).__name__}: {e}")
        asyncio.run(run())
        self.exit()


def new_room(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def short(v, n=300) -> str:
    """repr(v), cut after n characters."""
    s = repr(v)
    return s if len(s) <= n else s[:n] + f"...({len(s)} chars)"
