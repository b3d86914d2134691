"""Wall time of ``hdx cost --accel X`` against ``hdx --help`` (and of ``import torch`` for scale).

Each command runs ``--repeats`` times in a fresh interpreter (``python -m hdx ...``: what the ``hdx``
script runs), alternating the commands so that a load change on the machine hits them
alike; the table gives the median, min and max wall time per command (seconds) and whether the
command imported torch (a separate probe run).

    python benchmarks/bench_cli_startup.py               # 7 runs each
    python benchmarks/bench_cli_startup.py --repeats 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

ARCH = "mb5e3,zero,zero,mb5e3,mb3e3,zero,mb7e6,mb5e3,mb7e3"
COMMANDS = {
    "hdx --help": ["--help"],
    "hdx cost --accel 16x16,rf=16,df=ws": ["cost", "--arch", ARCH, "--accel", "16x16,rf=16,df=ws", "--json"],
    "hdx cost --accel grid": ["cost", "--arch", ARCH, "--accel", "grid", "--json"],
}
PROBE = ("import sys, io, contextlib\nfrom hdx.cli.main import main\n"
         "with contextlib.redirect_stdout(io.StringIO()):\n    main(sys.argv[1:])\n"
         "print('torch' in sys.modules)")


def wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    runs = {name: [sys.executable, "-m", "hdx", *cmd] for name, cmd in COMMANDS.items()}
    runs["python -c 'import torch'"] = [sys.executable, "-c", "import torch"]
    times: dict[str, list[float]] = {name: [] for name in runs}
    for argv in runs.values():  # one warm-up run each (file cache), not counted
        wall(argv)
    for _ in range(args.repeats):
        for name, argv in runs.items():
            times[name].append(wall(argv))
    torch_used = {}
    for name, cmd in COMMANDS.items():
        out = subprocess.run([sys.executable, "-c", PROBE, *cmd], check=True, capture_output=True, text=True)
        torch_used[name] = out.stdout.strip().splitlines()[-1]
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPU cores, 1-min load average {load:.2f}; {args.repeats} runs per command")
    print(f"{'command':<40} {'median s':>9} {'min s':>7} {'max s':>7} {'vs --help':>10} "
          f"{'imports torch':>14}")
    base = statistics.median(times["hdx --help"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<40} {med:>9.3f} {min(ts):>7.3f} {max(ts):>7.3f} {med / base:>9.2f}x "
              f"{torch_used.get(name, '-'):>14}")


if __name__ == "__main__":
    main()
