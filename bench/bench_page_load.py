"""What the proxy costs a browser: a fresh page load through ``ui/serve.py`` against
Streamlit alone, measured in the same run.

The proxy carries one request per connection (so that it rewrites every request head:
the client address, no forged forwarding headers) and adds security headers to every
response. A fresh browser context (no cache, no cookies) loads the app until the login
form shows, ``--loads`` times per mode, after a warm-up load per worker (each worker's
first page run does its start-up work).

    .venv/bin/python bench/bench_page_load.py [--loads 8]

Prints seconds per load (p50, max) for ``KB_WORKERS=1`` (Streamlit serves directly) and
``KB_WORKERS=2`` (through the proxy). Needs Debian's /usr/bin/chromium; only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.app_server import prepare_data, start_app  # noqa: E402
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def page_loads(url: str, loads: int, warm_ups: int) -> list[float]:
    """Seconds from navigation to the login form, each in a fresh browser context."""
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for n in range(warm_ups + loads):
                context = browser.new_context()
                page = context.new_page()
                started = time.perf_counter()
                page.goto(url)
                page.get_by_label("工号", exact=True).wait_for(timeout=60_000)
                if n >= warm_ups:
                    times.append(time.perf_counter() - started)
                context.close()
        finally:
            browser.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=8, help="measured loads per mode (8)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        prepare_data(data, ["T0000"])
        for workers in (1, 2):
            server = start_app(data, Path(tmp) / f"server-{workers}.log", workers=workers)
            try:
                # One warm-up load per worker: new browsers are dealt to workers in turn.
                times = page_loads(server.url, args.loads, warm_ups=workers)
            finally:
                server.stop()
            label = "Streamlit alone (KB_WORKERS=1)" if workers == 1 else "proxy (KB_WORKERS=2)"
            print(
                f"{label:32} loads {len(times)}  p50 {statistics.median(times):.2f} s  "
                f"max {max(times):.2f} s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
