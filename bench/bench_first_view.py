"""First view of the executive overview on a throttled phone: navigation until every chart is drawn.

The profile of issue 19: Chromium's CPU slowed 4x and the network at 9 Mbit/s down (and up), 40 ms latency,
through the DevTools protocol (Emulation.setCPUThrottlingRate, Network.emulateNetworkConditions), at 390x844,
with an empty browser cache (a new context per view: plotly.js and everything else comes over the network).
The time is dashboards.js's ``window.__chartsDrawnAt`` (ms since navigation start), on the demo company's data
served by `feedback serve` (the server's result cache warmed by one view first, so the figure is the page's
weight and drawing, not the first query after new data). Also reported: bytes over the wire per view, and
where the time goes (first byte, plotly.js received, charts start, first screen's charts drawn, all drawn).
``--cpu-only`` keeps the 4x CPU throttle without the network's: on a shared machine it shows what load costs.

    python bench/bench_first_view.py --demo-db feedback.db --views 5
    python bench/bench_first_view.py --demo-db feedback.db --views 3 --cpu-only
    python bench/bench_first_view.py                      # makes a fresh demo first (several minutes)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("screenshots", ROOT / "docs" / "screenshots" / "dashboards.py")
assert _spec is not None and _spec.loader is not None
shots: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shots)

MBIT = 1_000_000 / 8  # bytes per second
PROFILE = {"offline": False, "latency": 40, "downloadThroughput": 9 * MBIT, "uploadThroughput": 9 * MBIT}
CPU_SLOWDOWN = 4


STAGES: list[dict[str, float]] = []
STAGES_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const plotly = performance.getEntriesByType('resource').find(r => r.name.includes('/plotly'));
  const mark = name => (performance.getEntriesByName(name)[0] || {startTime: NaN}).startTime;
  return {
    'server (first byte)': nav.responseStart,
    'HTML received': nav.responseEnd,
    'plotly.js received': plotly ? plotly.responseEnd : NaN,
    'scripts run (DOMContentLoaded)': nav.domContentLoadedEventEnd,
    'charts start': mark('charts-start'),
    'first screen drawn': window.__firstScreenDrawnAt || NaN,
    'charts drawn': window.__chartsDrawnAt,
  };
}"""


def first_view(browser: Any, base: str, network: bool = True) -> tuple[float, int]:
    """(ms until every chart is drawn, bytes received) for one view with an empty cache."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2
    )
    page = context.new_page()
    shots.sign_in(page, base, shots.EXECUTIVE)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if network:
        cdp.send("Network.emulateNetworkConditions", PROFILE)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    received = [0]
    cdp.on(
        "Network.loadingFinished",
        lambda event: received.__setitem__(0, received[0] + event["encodedDataLength"]),
    )
    page.goto(f"{base}/dashboards/executive-overview", timeout=120_000)
    page.wait_for_selector("html[data-charts-drawn]", state="attached", timeout=120_000)
    drawn = float(page.evaluate("window.__chartsDrawnAt"))
    STAGES.append(page.evaluate(STAGES_JS))
    context.close()
    return drawn, sum(received)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-db", type=Path, help="a demo SQLite database to copy (default: make one)")
    parser.add_argument("--views", type=int, default=5)
    parser.add_argument(
        "--cpu-only", action="store_true", help="throttle the CPU only (no network emulation): load's share"
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="feedback-first-view-") as tmp:
        workdir = Path(tmp)
        base, env = shots.environment(workdir)
        shots.make_demo(workdir, args.demo_db, env)
        shots.add_logins(env)
        server = subprocess.Popen(
            ["feedback", "serve", "--host", "127.0.0.1", "--port", base.rsplit(":", 1)[1]], env=env
        )
        try:
            shots.wait_healthy(base, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=shots.CHROMIUM_ARGS
                )
                first_view(browser, base)  # warms the server's result cache
                views = [first_view(browser, base, not args.cpu_only) for _ in range(args.views)]
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    times = sorted(ms for ms, _ in views)
    profile = "4x CPU only" if args.cpu_only else "4x CPU, 9 Mbit/s, 40 ms"
    shown = ", ".join(f"{ms:,.0f} ms" for ms, _ in views)
    print(f"{profile}; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after; views: {shown}")
    median, most, size = statistics.median(times), times[-1], views[0][1] / 1000
    print(f"median {median:,.0f} ms; max {most:,.0f} ms; {size:,.0f} kB over the wire per view")
    for stage in STAGES[0]:
        values = [s[stage] for s in STAGES[1:]]
        each = ", ".join(f"{v:,.0f}" for v in values)
        print(f"  {stage}: median {statistics.median(values):,.0f} ms ({each})")


if __name__ == "__main__":
    main()
