#!/usr/bin/env python3
"""Turn the raw files run.sh leaves in its work dir into a markdown report.

Inputs (all in WORK):
  seq.tsv       name round wall_ns user_us sys_us maxrss_kb status
  par.tsv       name total_wall_ns ok failed
  commands.tsv  name command      (contestants that passed their check run)
  failed.tsv    name error        (contestants that failed their check run)
  skipped       free text lines   (contestants not attempted)
  notes         free text lines
  leftovers     free text         (empty when cleanup was complete)
  meta.tsv      key value
"""
import os
import statistics
import sys

ORDER = ["minirun", "minirun-unconfined", "minirun-oci", "crun", "runc", "bwrap", "floor"]
LABEL = {
    "minirun": "minirun (quick form, Docker's seccomp profile)",
    "minirun-unconfined": "minirun --security-opt seccomp=unconfined",
    "minirun-oci": "minirun run (OCI bundle)",
    "crun": "crun run",
    "runc": "runc run",
    "bwrap": "bwrap",
    "floor": "floor (C, clone+pivot_root+proc+caps)",
}


def read_tsv(path, ncols=None):
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                rows.append(line.split("\t", ncols - 1 if ncols else -1))
    return rows


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def order_key(name):
    return ORDER.index(name) if name in ORDER else len(ORDER)


def main():
    work = sys.argv[1]
    meta = dict(read_tsv(os.path.join(work, "meta.tsv"), 2))
    seq = read_tsv(os.path.join(work, "seq.tsv"))
    par = read_tsv(os.path.join(work, "par.tsv"))
    commands = read_tsv(os.path.join(work, "commands.tsv"), 2)
    failed = read_tsv(os.path.join(work, "failed.tsv"), 2)
    skipped = read_lines(os.path.join(work, "skipped"))
    notes = read_lines(os.path.join(work, "notes"))
    leftovers = read_lines(os.path.join(work, "leftovers"))

    # runs[name][round] = (wall_ms, cpu_ms, rss_mb, status)
    runs = {}
    for name, rnd, wall, ut, st, rss, status in seq:
        runs.setdefault(name, {})[int(rnd)] = (
            int(wall) / 1e6, (int(ut) + int(st)) / 1e3, int(rss) / 1024, int(status))
    names = sorted(runs, key=order_key)

    out = []
    w = out.append
    w("# minirun start-up benchmark")
    w("")
    w(f"Every contestant starts `/bin/true` in `{meta.get('rootfs', '?')}`. "
      f"{meta.get('warmup', '?')} warm-up runs each, then {meta.get('runs', '?')} rounds; "
      "a round runs every contestant once, in table order. Wall time is fork to "
      "wait4 in the measuring helper; CPU and peak RSS are the wait4 rusage of "
      "the runtime process and everything it waited for. The ratio is the median "
      "over rounds of (contestant / crun in the same round).")
    w("")
    w("| runtime | median ms | min ms | max ms | CPU ms (median user+sys) | peak RSS MB | × crun (paired median) | failed runs |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    crun = runs.get("crun", {})
    rows = []  # (order, line): timed, failed and skipped contestants together
    for name in names:
        rs = runs[name]
        good = {r: v for r, v in rs.items() if v[3] == 0}
        nfail = len(rs) - len(good)
        if not good:
            rows.append((order_key(name), f"| {LABEL.get(name, name)} | – | – | – | – | – | – | {nfail}/{len(rs)} |"))
            continue
        walls = [v[0] for v in good.values()]
        cpus = [v[1] for v in good.values()]
        rss = max(v[2] for v in good.values())
        ratios = [v[0] / crun[r][0] for r, v in good.items()
                  if r in crun and crun[r][3] == 0]
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "n/a"
        rows.append((order_key(name),
                     f"| {LABEL.get(name, name)} | {statistics.median(walls):.2f} | {min(walls):.2f} | "
                     f"{max(walls):.2f} | {statistics.median(cpus):.2f} | {rss:.1f} | {ratio} | "
                     f"{nfail}/{len(rs)} |"))
    for name, err in failed:
        rows.append((order_key(name),
                     f"| {LABEL.get(name, name)} | FAILED | | | | | | {err.replace('|', '/')} |"))
    for line in skipped:
        name, _, why = line.partition(": ")
        rows.append((order_key(name),
                     f"| {LABEL.get(name, name)} | {why.replace('|', '/')} | | | | | | |"))
    for _, line in sorted(rows, key=lambda r: r[0]):
        w(line)
    w("")
    # The seccomp filter's cost in the quick form: paired by round, budget 0.1 ms.
    sc, un = runs.get("minirun", {}), runs.get("minirun-unconfined", {})
    diffs = [sc[r][0] - un[r][0] for r in sc if r in un and sc[r][3] == 0 and un[r][3] == 0]
    if diffs:
        d = statistics.median(diffs)
        w(f"seccomp cost (quick form, Docker's profile from the cache, minus unconfined; "
          f"paired median): {d:.3f} ms, budget 0.1 ms: {'within' if d <= 0.1 else 'OVER'}. "
          f"The OCI contestants all get the same profile in config.json.")
        w("")

    if par:
        w(f"## Throughput: {meta.get('tp_total', '?')} containers, "
          f"{meta.get('tp_conc', '?')} at a time")
        w("")
        w("| runtime | total s | containers/s | failed |")
        w("|---|---:|---:|---:|")
        for name, total, ok, bad in sorted(par, key=lambda r: order_key(r[0])):
            secs = int(total) / 1e9
            n = int(ok) + int(bad)
            w(f"| {LABEL.get(name, name)} | {secs:.2f} | {n / secs:.1f} | {bad} |")
        w("")

    if "minirun_size" in meta:
        size = int(meta["minirun_size"])
        w(f"minirun binary: {size} bytes ({size / 1048576:.2f} MiB), `{meta.get('minirun')}`")
        w("")

    w("## Commands")
    w("")
    w("`$WORK` is a temporary directory (bundle, state roots), removed afterwards; "
      "`{}` is a fresh container id per run.")
    w("")
    for name, cmd in sorted(commands, key=lambda r: order_key(r[0])):
        w(f"- {name}: `{cmd.strip().replace(work, '$WORK')}`")
    w("")

    w("## Environment")
    w("")
    w("- all contestants run inside one `unshare -m --propagation private` mount "
      f"namespace whose /sys/fs/cgroup is {meta.get('cgview', '?')}; "
      "no cgroup is created or joined")
    for key in ("date", "kernel", "cpu", "crun", "runc", "bwrap"):
        if key in meta:
            w(f"- {key}: {meta[key]}")
    w("")

    w("## Notes")
    w("")
    for n in notes:
        w(f"- {n.replace(work, '$WORK')}")
    for l in leftovers:
        w(f"- LEFTOVER: {l}")
    if not leftovers:
        w("- cleanup check: no leftover processes, runtime state or mounts; "
          "host mount table unchanged")
    w("")

    print("\n".join(out))


if __name__ == "__main__":
    main()
