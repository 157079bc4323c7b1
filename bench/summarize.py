#!/usr/bin/env python3
"""Turn the raw measurements of bench/run.sh, daemon.sh, network.sh and registry.sh into markdown tables.

Reads RESULTS_DIR/<case>.<engine>.<kind>, where kind is
  json  hyperfine --export-json output (times in seconds),
  times one duration in seconds per line (the timed batches),
  kib   one memory figure in KiB per line (peak RSS, VmRSS, smaps_rollup),
  na    why the case could not be measured for that engine (one line),
and prints a summary table (medians, the berth/docker ratio and, where the
set has targets, the target and whether it is met) followed by a detail
table (n, mean, stddev, min, max). An engine that was benchmarked but has
no file for a case is shown as "failed"; a case an engine has no part in
shows "-". A difference row (issue4) shows berth's median of one case minus
its median of another.

usage: summarize.py [--set issue2|issue3|issue4|issue5] [--many N] RESULTS_DIR ENGINE...  (engines run)
"""
import json
import statistics
import sys
from pathlib import Path


class Case:
    """One row: its file name, label, unit ("s" or "kib"), the engines of its
    berth and docker columns (None: not applicable) and an optional target,
    ("ratio", x) for berth/docker <= x or ("berth", x) for berth's median <= x
    (in the case's unit). The docker column reads the samples of docker_case
    when given (another row's, shown again), else those of case."""

    def __init__(self, case, label, unit, berth="berth", docker="docker", target=None, docker_case=None):
        self.case, self.label, self.unit = case, label, unit
        self.berth, self.docker, self.target = berth, docker, target
        self.docker_case = docker_case or case


class Diff:
    """A derived row: berth's median of case `minuend` minus its median of
    case `subtrahend` (both in seconds); no docker column, no detail rows."""

    def __init__(self, label, minuend, subtrahend):
        self.label, self.minuend, self.subtrahend = label, minuend, subtrahend
        self.target = None


MIB = 1024  # KiB; memory targets are in MiB

SETS = {
    "issue2": [
        Case("run_rm", "a. `run --rm --network none busybox true`", "s"),
        Case("create", "b. `create busybox true`", "s"),
        Case("ps", "c. `ps` with 20 stopped containers", "s"),
        Case("ps_a", "c. `ps -a` with 20 stopped containers", "s"),
        Case("batch_run", "d. 20 concurrent `run -d --network none busybox sleep 1000`", "s"),
        Case("batch_rm", "d. `rm -f` of those 20", "s"),
        Case("rss_run_rm", "peak RSS of the CLI process, case a", "kib"),
    ],
    "issue3": [
        Case("version", "0. docker CLI `version` (CLI start-up, `_ping`, `GET /version`)", "s"),
        Case("run_rm", "1. docker CLI `run --rm --network none busybox true`", "s", target=("ratio", 0.15)),
        Case(
            "client_run_rm",
            "2. `berth -H` client vs docker CLI, `run --rm --network none busybox true`",
            "s",
            berth="berth-client",
            target=("ratio", 0.07),
        ),
        Case("ps", "3. docker CLI `ps`, {many} running containers", "s"),
        Case("ps_a", "3. docker CLI `ps -a`, {many} running containers", "s"),
        Case("daemon_rss_fresh", "4. daemon RSS, fresh, busybox imported, no containers", "kib"),
        Case(
            "daemon_rss",
            "4. daemon idle RSS with {many} running containers (docker: dockerd + containerd)",
            "kib",
            target=("berth", 15 * MIB),
        ),
        Case("daemon_rss_dockerd", "4. … dockerd alone", "kib", berth=None),
        Case("daemon_rss_containerd", "4. … containerd alone", "kib", berth=None),
        Case(
            "daemon_rss_adopted",
            "4. berth daemon restarted, idle RSS after adopting the {many}",
            "kib",
            docker=None,
            target=("berth", 15 * MIB),
        ),
        Case(
            "shim_rss",
            "5. per-container helper RSS (berth `__shim` / containerd-shim-runc-v2)",
            "kib",
            target=("berth", 1 * MIB),
        ),
        Case("shim_pss", "5. per-container helper PSS", "kib"),
        Case(
            "shim_private_dirty",
            "5. per-container helper Private_Dirty",
            "kib",
            target=("berth", 1 * MIB),
        ),
        Case("batch_run", "6. docker CLI, 20 concurrent `run -d --network none busybox sleep 1000`", "s"),
        Case("batch_rm", "6. docker CLI `rm -f` of those 20", "s"),
    ],
    "issue4": [
        Case(
            "run_rm_bridge",
            "1. `run --rm busybox true`: berth on its default bridge vs docker `--network none`",
            "s",
            target=("ratio", 0.10),
        ),
        Case("run_rm_none", "2. `run --rm --network none busybox true`, both", "s"),
        Diff(
            "2. veth+IP+namespace setup per container: berth case 1 − case 2 (medians)",
            "run_rm_bridge",
            "run_rm_none",
        ),
        Case(
            "net_setup_paired",
            "2. … the same, median of paired differences (bridge and none run alternately)",
            "s",
            docker=None,
        ),
        Case(
            "run_rm_publish",
            "3. berth `run --rm -p 127.0.0.1::80 busybox true` (bridge + port) vs docker `--network none`"
            " (case 2)",
            "s",
            docker_case="run_rm_none",
        ),
        Diff(
            "3. one published port per container: berth case 3 − case 1 (medians)",
            "run_rm_publish",
            "run_rm_bridge",
        ),
        Case(
            "batch_run",
            "4. 20 concurrent `run -d busybox sleep 1000`: berth on its bridge vs docker `--network none`",
            "s",
        ),
        Case("batch_rm", "4. `rm -f` of those 20", "s"),
    ],
    "issue5": [
        Case(
            "pull", "1. cold `pull` of the 3-layer image from the local registry", "s", target=("ratio", 0.5)
        ),
        Case("pull_cpu", "1. CPU time (user + sys): berth CLI vs docker CLI + dockerd and its children", "s"),
        Case("pull_rss", "1. peak RSS: berth CLI (daemonless) vs docker CLI + dockerd", "kib"),
        Case("pull_cli_rss", "1. … docker CLI alone", "kib", berth=None),
        Case("pull_dockerd_rss", "1. … dockerd alone", "kib", berth=None),
        Case(
            "push", "2. cold `push` of the same image to a fresh, empty registry", "s", target=("ratio", 0.5)
        ),
        Case("push_cpu", "2. CPU time (user + sys): berth CLI vs docker CLI + dockerd and its children", "s"),
        Case("push_rss", "2. peak RSS: berth CLI (daemonless) vs docker CLI + dockerd", "kib"),
        Case("push_cli_rss", "2. … docker CLI alone", "kib", berth=None),
        Case("push_dockerd_rss", "2. … dockerd alone", "kib", berth=None),
    ],
}


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


def reason(results: Path, case: str, engine: str):
    """Why a case was not measured for an engine, if the script said so."""
    f = results / f"{case}.{engine}.na"
    return f.read_text().strip() if f.exists() else None


def fmt(value: float, unit: str) -> str:
    if unit == "kib":
        return f"{value / 1024:.1f} MiB"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms"


def fmt_target(c: Case) -> str:
    kind, x = c.target
    if kind == "ratio":
        return f"ratio ≤ {x}"
    return f"berth ≤ {x / MIB:.0f} MiB" if c.unit == "kib" else f"berth ≤ {fmt(x, c.unit)}"


def met(c: Case, berth, ratio) -> str:
    kind, x = c.target
    value = ratio if kind == "ratio" else (statistics.median(berth) if berth else None)
    if value is None:
        return "?"
    return "yes" if value <= x else "no"


def diff_row(results: Path, d: Diff, berth_ran: bool, targets: bool) -> str:
    """The summary row of a Diff: the difference, or why it is missing."""
    a, b = load(results, d.minuend, "berth"), load(results, d.subtrahend, "berth")
    if a and b:
        value = fmt(statistics.median(a) - statistics.median(b), "s")
    else:
        value = "failed" if berth_ran else "n/a"
    return f"| {d.label} | {value} | - | n/a |" + (" | |" if targets else "")


def main() -> int:
    args = sys.argv[1:]
    name, many = "issue2", "100"
    while len(args) > 1 and args[0] in ("--set", "--many"):
        if args[0] == "--set":
            name = args[1]
        else:
            many = args[1]
        args = args[2:]
    if not args or name not in SETS:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    results = Path(args[0])
    ran = set(args[1:])
    cases = SETS[name]
    targets = any(c.target for c in cases)

    def cell(c: Case, engine, samples):
        if engine is None:
            return "-"
        if samples:
            return fmt(statistics.median(samples), c.unit)
        why = reason(results, c.case, engine)
        if why:
            return f"n/a ({why})"
        return "failed" if engine in ran else "n/a"

    head = "| case | berth median | docker median | ratio berth/docker |"
    rule = "|---|---|---|---|"
    if targets:
        head, rule = head + " target | met |", rule + "---|---|"
    summary = [head, rule]
    detail = ["| case | engine | n | median | mean ± sd | min | max |", "|---|---|---|---|---|---|---|"]
    for c in cases:
        if isinstance(c, Diff):
            summary.append(diff_row(results, c, "berth" in ran, targets))
            continue
        berth = load(results, c.case, c.berth) if c.berth else None
        docker = load(results, c.docker_case, c.docker) if c.docker else None
        ratio = None
        if berth and docker:
            ratio = statistics.median(berth) / statistics.median(docker)
        label = c.label.format(many=many)
        row = f"| {label} | {cell(c, c.berth, berth)} | {cell(c, c.docker, docker)} "
        row += f"| {'n/a' if ratio is None else f'{ratio:.3f}'} |"
        if targets:
            row += f" {fmt_target(c)} | {met(c, berth, ratio)} |" if c.target else " | |"
        summary.append(row)
        for engine, s in ((c.berth, berth), (c.docker, docker)):
            if not s or (engine == c.docker and c.docker_case != c.case):
                continue
            sd = statistics.stdev(s) if len(s) > 1 else 0.0
            detail.append(
                f"| {label} | {engine} | {len(s)} | {fmt(statistics.median(s), c.unit)} "
                f"| {fmt(statistics.mean(s), c.unit)} ± {fmt(sd, c.unit)} "
                f"| {fmt(min(s), c.unit)} | {fmt(max(s), c.unit)} |"
            )
    print("\n".join(summary))
    print()
    print("Details:")
    print()
    print("\n".join(detail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
