"""How long another process takes to see a change, by ``VERSION_CHECK_INTERVAL``.

``python tests/benchmarks/lag.py [--changes N]``: two processes share a SQLite
file database (the token in its row, ``VERSION_STORE = "database"``). The reader
resolves its version as a request would if the interval applied inside
requests (a request every millisecond); the writer bumps the token at random
moments and notes when. The lag of a change is the time from the bump's commit
to the first resolution of the reader that sees the new token.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTERVALS = (0.0, 0.1, 1.0)


def setup(database: str, interval: float) -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    from django.conf import settings

    import tests.settings as base

    settings.configure(
        **{name: getattr(base, name) for name in dir(base) if name.isupper()}
        | {
            "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
            "WAGTAIL_PLUGIN_SYSTEM": {
                **base.WAGTAIL_PLUGIN_SYSTEM,
                "VERSION_STORE": "database",
                "VERSION_CHECK_INTERVAL": interval,
            },
        }
    )
    import django

    django.setup()


def reader(database: str, interval: float, seen: multiprocessing.Queue, stop: object) -> None:
    setup(database, interval)
    from wagtail_plugin_system import cache

    last = cache.current_version()
    seen.put(0.0)  # ready
    while not stop.is_set():  # type: ignore[attr-defined]
        version = cache.current_version()
        if version != last:
            seen.put(time.time())
            last = version
        time.sleep(0.001)  # one "request" a millisecond


def measure(database: str, interval: float, changes: int) -> list[float]:
    stop = multiprocessing.Event()
    seen: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=reader, args=(database, interval, seen, stop))
    process.start()
    from wagtail_plugin_system import cache

    seen.get(timeout=300)  # the reader is set up
    lags = []
    for _ in range(changes):
        time.sleep(random.uniform(0.2, 0.2 + 2 * interval))
        cache.bump_version()
        bumped = time.time()
        lags.append(seen.get(timeout=30 + interval) - bumped)
    stop.set()
    process.join()
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = str(Path(tmp) / "lag.sqlite3")
        setup(database, 0)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        for interval in INTERVALS:
            from django.test.utils import override_settings

            plugin = {"VERSION_STORE": "database", "VERSION_CHECK_INTERVAL": 0}
            from django.conf import settings

            with override_settings(
                WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, **plugin}
            ):
                lags = sorted(measure(database, interval, args.changes))
            print(
                f"VERSION_CHECK_INTERVAL={interval:g}: lag median "
                f"{statistics.median(lags) * 1e3:.1f} ms, "
                f"max {lags[-1] * 1e3:.1f} ms, min {lags[0] * 1e3:.1f} ms ({len(lags)} changes)"
            )


if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    main()
