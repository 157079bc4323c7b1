#!/usr/bin/env python3
"""Turn the raw measurements of bench/run.sh into markdown tables.

Reads RESULTS_DIR/<case>.<engine>.<kind>, where kind is
  json  hyperfine --export-json output (times in seconds),
  times one duration in seconds per line (the timed batches of case d),
  kib   one peak RSS in KiB per line (/usr/bin/time -f %M),
and prints a summary table (medians and the berth/docker ratio) followed by
a detail table (n, mean, stddev, min, max). An engine that was benchmarked
but has no file for a case is shown as "failed".

usage: summarize.py RESULTS_DIR ENGINE...   (engines that were benchmarked)
"""
import json
import statistics
import sys
from pathlib import Path

# (case id, label, unit); the order is the order of the tables.
CASES = [
    ("run_rm", "a. `run --rm --network none busybox true`", "s"),
    ("create", "b. `create busybox true`", "s"),
    ("ps", "c. `ps` with 20 stopped containers", "s"),
    ("ps_a", "c. `ps -a` with 20 stopped containers", "s"),
    ("batch_run", "d. 20 concurrent `run -d --network none busybox sleep 1000`", "s"),
    ("batch_rm", "d. `rm -f` of those 20", "s"),
    ("rss_run_rm", "peak RSS of the CLI process, case a", "kib"),
]
ENGINES = ["berth", "docker"]


def load(results: Path, case: str, engine: str):
    """The list of samples for one case and engine, or None if absent."""
    hf = results / f"{case}.{engine}.json"
    if hf.exists():
        return json.loads(hf.read_text())["results"][0]["times"]
    for kind in ("times", "kib"):
        f = results / f"{case}.{engine}.{kind}"
        if f.exists():
            samples = [float(x) for x in f.read_text().split()]
            return samples or None
    return None


def fmt(value: float, unit: str) -> str:
    if unit == "kib":
        return f"{value / 1024:.1f} MiB"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms"


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    results = Path(sys.argv[1])
    ran = set(sys.argv[2:])

    def cell(samples, engine, unit):
        if samples:
            return fmt(statistics.median(samples), unit)
        return "failed" if engine in ran else "n/a"

    summary = ["| case | berth median | docker median | ratio berth/docker |", "|---|---|---|---|"]
    detail = ["| case | engine | n | median | mean ± sd | min | max |", "|---|---|---|---|---|---|---|"]
    for case, label, unit in CASES:
        samples = {e: load(results, case, e) for e in ENGINES}
        ratio = "n/a"
        if samples["berth"] and samples["docker"]:
            ratio = f"{statistics.median(samples['berth']) / statistics.median(samples['docker']):.3f}"
        summary.append(
            f"| {label} | {cell(samples['berth'], 'berth', unit)} "
            f"| {cell(samples['docker'], 'docker', unit)} | {ratio} |"
        )
        for engine in ENGINES:
            s = samples[engine]
            if not s:
                continue
            sd = statistics.stdev(s) if len(s) > 1 else 0.0
            detail.append(
                f"| {label} | {engine} | {len(s)} | {fmt(statistics.median(s), unit)} "
                f"| {fmt(statistics.mean(s), unit)} ± {fmt(sd, unit)} "
                f"| {fmt(min(s), unit)} | {fmt(max(s), unit)} |"
            )
    print("\n".join(summary))
    print()
    print("Details:")
    print()
    print("\n".join(detail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
