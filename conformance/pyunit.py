# SPDX-License-Identifier: GPL-2.0
"""Runs a PyPI package's unittest suite (its sdist's tests/ directory), one
line per test, for conformance/guest.py:

    python pyunit.py SUITE RUN SDIST_DIR

prints "CONF<TAB>SUITE<TAB>TEST<TAB>RUN<TAB>STATUS<TAB>DETAIL" per test, where
TEST is the test's id without the leading "tests.", STATUS PASS, FAIL or
SKIP, DETAIL the exception's last line (FAIL) or the skip reason.  The
tests are loaded and run as "python -m unittest discover" would, from
SDIST_DIR (so "tests" is the package and the installed module is the one
imported)."""
import os
import sys
import traceback
import unittest


def main():
    suite, run, sdist = sys.argv[1:4]
    os.chdir(sdist)
    sys.path.insert(0, sdist)

    def emit(test, status, detail=""):
        tid = test.id()
        if tid.startswith("tests."):
            tid = tid[len("tests."):]
        detail = " ".join(str(detail).split())[:300]
        print(f"CONF\t{suite}\t{tid}\t{run}\t{status}\t{detail}", flush=True)

    def last_line(err):
        lines = traceback.format_exception(*err)
        text = "".join(lines).strip().splitlines()
        return text[-1] if text else "?"

    class Result(unittest.TestResult):
        def addSuccess(self, test):
            super().addSuccess(test)
            emit(test, "PASS")

        def addFailure(self, test, err):
            super().addFailure(test, err)
            emit(test, "FAIL", last_line(err))
            sys.stderr.write("".join(traceback.format_exception(*err)))

        def addError(self, test, err):
            super().addError(test, err)
            emit(test, "FAIL", "error: " + last_line(err))
            sys.stderr.write("".join(traceback.format_exception(*err)))

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            emit(test, "SKIP", reason)

        def addExpectedFailure(self, test, err):
            super().addExpectedFailure(test, err)
            emit(test, "PASS", "expected failure")

        def addUnexpectedSuccess(self, test):
            super().addUnexpectedSuccess(test)
            emit(test, "FAIL", "unexpected success")

    tests = unittest.defaultTestLoader.discover("tests", top_level_dir=sdist)
    result = Result()
    tests.run(result)
    # A module that fails to import is a _FailedTest, reported by addError.
    # Failures are the rows' to report: exit 0 once every test ran, so
    # that any other status is the run's own failure (a crash at exit).
    return 0


if __name__ == "__main__":
    sys.exit(main())
