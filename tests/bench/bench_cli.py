"""Start-up cost of `ais plugins list` (metadata only) and `ais --version`, with every plugin of the
repository installed: median of 15 runs of the real command."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

AIS = str(Path(sys.executable).with_name("ais"))


def median_ms(args: list[str], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([AIS, *args], capture_output=True, check=False)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    print(f"\n== CLI start-up (python {sys.version.split()[0]}) ==", flush=True)
    installed = len(
        json.loads(subprocess.run([AIS, "plugins", "list", "--json"], capture_output=True, text=True).stdout)
    )
    print(f"{'python -c pass':<40} {median_ms_python():>8.1f} ms")
    print(f"{'ais --version':<40} {median_ms(['--version']):>8.1f} ms")
    print(
        f"{f'ais plugins list ({installed} plugins installed)':<40} {median_ms(['plugins', 'list']):>8.1f} ms"
    )


def median_ms_python(runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    main()
