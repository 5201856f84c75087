"""The suite's own markers and order, for tests/integration and
tests/security (each conftest.py hands pytest these two hooks).

  slow   heavy or long: a private stack, a fault, a drain, a flood, a loop.
         `tests/run --quick` leaves them out (-m "not slow"); --full runs
         every test.
  first  runs before the other tests of its folder, whatever is selected
         (test_sec_00_host_start: the host before any hostile program).
  last   runs after the other tests of its folder (test_sec_zz_host_end:
         the host after every hostile program; test_zz_ratelimit: it uses
         up a key's and the address's budget).

The order is the marker's, not the file name's: -k, -m, a file list or a
reordering keep each test's place.
"""

MARKERS = (
    "slow: heavy or long (a private stack, a fault, a drain, a flood, a "
    "loop); not in tests/run --quick",
    "first: runs before the other tests of its folder",
    "last: runs after the other tests of its folder",
)


def configure(config):
    for m in MARKERS:
        config.addinivalue_line("markers", m)


def order(items):
    """Within each folder (in the order folders come), the tests marked
    first, then the unmarked ones, then those marked last; stable."""
    def place(item):
        return 0 if item.get_closest_marker("first") else (
            2 if item.get_closest_marker("last") else 1)
    folders = []
    for item in items:
        d = item.path.parent
        if d not in folders:
            folders.append(d)
    items[:] = sorted(items, key=lambda i: (folders.index(i.path.parent), place(i)))
