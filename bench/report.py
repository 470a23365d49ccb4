#!/usr/bin/env python3
"""Turn the raw files run.sh leaves in its work dir into a markdown report.

Inputs: WORK/meta.tsv (key value), WORK/notes, WORK/skipped, WORK/leftovers, and one
directory per repeat of the whole bench, WORK/run1, WORK/run2, ..., each holding
  seq.tsv       name round wall_ns user_us sys_us maxrss_kb status   (start-up rounds)
  exec.tsv      the same, for the exec contestants
  cgroups.tsv   the same, the headline's rounds (bench/cgroups.sh, host hierarchies):
                cgroups-on (the default), cgroups-off, trace-caps, floor, bwrap
  tracer.tsv    attach-ms N MS / check-ns-off N NS / check-ns-on N NS RECORDED (bench/cgroups.sh)
  par.tsv       name total_wall_ns ok failed                         (throughput)
  seccomp.tsv   name "Seccomp: N Seccomp_filters: M" as its workload saw it
  commands.tsv  name command      (contestants that passed their check run)
  failed.tsv    name error        (contestants that failed their check run)
  notes         free text lines

Every figure is computed per run first; the report gives the median of the runs' figures
(and the runs' own figures beside it), so one noisy run cannot carry the result.
"""
import glob
import os
import statistics
import sys

ORDER = ["cgroups-on", "trace-caps", "cgroups-off", "rootless", "bwrap-user", "minirun", "minirun-unconfined", "minirun-oci", "crun", "runc", "bwrap", "floor",
         "minirun-exec", "crun-exec"]
LABEL = {
    "minirun": "minirun (quick form, Docker's seccomp profile)",
    "minirun-unconfined": "minirun --security-opt seccomp=unconfined",
    "minirun-oci": "minirun run (OCI bundle)",
    "crun": "crun run",
    "runc": "runc run",
    "bwrap": "bwrap",
    "floor": "floor (C, clone+pivot_root+proc+caps)",
    "minirun-exec": "minirun exec ID /bin/true",
    "crun-exec": "crun exec ID /bin/true",
    "cgroups-on": "**minirun, the default** (quick form, its cgroup, Docker's seccomp profile)",
    "cgroups-off": "minirun --cgroup-manager disabled",
    "trace-caps": "minirun --trace-caps (the default, capability tracer attached)",
    "rootless": "minirun as an ordinary user (user namespace, no cgroup; through setpriv)",
    "bwrap-user": "bwrap as the same user (through setpriv)",
}
MIB = 1048576


def read_tsv(path, ncols=None):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.rstrip("\n").split("\t", ncols - 1 if ncols else -1) for l in f if l.strip()]


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def order_key(name):
    return ORDER.index(name) if name in ORDER else len(ORDER)


def med(xs):
    return statistics.median(xs) if xs else None


def pct(xs, p):
    """The p-th percentile (p in 1..99) by linear interpolation; needs 2+ values."""
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


def fmt(x, spec=".2f"):
    return "n/a" if x is None else format(x, spec)


def rounds(path):
    """rounds[name][round] = (wall_ms, cpu_ms, rss_mb, status)"""
    out = {}
    for name, rnd, wall, ut, st, rss, status in read_tsv(path):
        out.setdefault(name, {})[int(rnd)] = (
            int(wall) / 1e6, (int(ut) + int(st)) / 1e3, int(rss) / 1024, int(status))
    return out


def good(rs):
    return {r: v for r, v in rs.items() if v[3] == 0}


def paired(rs, base):
    """Median over rounds of (wall / base's wall in the same round)."""
    g, b = good(rs), good(base)
    return med([v[0] / b[r][0] for r, v in g.items() if r in b])


class Series:
    """One contestant across the repeats: each run's figures, and their median."""

    def __init__(self, per_run):
        self.per_run = per_run  # list of rounds dicts (maybe empty), one per repeat

    def medians(self, i=0):
        return [med([v[i] for v in good(rs).values()]) for rs in self.per_run if good(rs)]

    def wall(self):
        return med(self.medians(0))

    def cpu(self):
        return med(self.medians(1))

    def rss(self):
        return max((v[2] for rs in self.per_run for v in good(rs).values()), default=None)

    def pooled(self):
        return [v[0] for rs in self.per_run for v in good(rs).values()]

    def failed(self):
        return sum(len(rs) - len(good(rs)) for rs in self.per_run), sum(len(rs) for rs in self.per_run)

    def ratios(self, base):
        return [paired(rs, b) for rs, b in zip(self.per_run, base.per_run)
                if good(rs) and good(b)]


def series(runs, file):
    per = [rounds(os.path.join(d, file)) for d in runs]
    names = sorted({n for p in per for n in p}, key=order_key)
    return {n: Series([p.get(n, {}) for p in per]) for n in names}


def listing(xs, spec=".2f"):
    return " / ".join(fmt(x, spec) for x in xs)


def timing_table(w, ss, base):
    w("| runtime | median ms | runs' medians | p10–p90 ms (all rounds) | CPU ms | peak RSS MB "
      f"| × {base} | runs' × {base} | failed |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in ss.items():
        nf, n = s.failed()
        walls = s.pooled()
        if not walls:
            w(f"| {LABEL.get(name, name)} | – | | | | | | | {nf}/{n} |")
            continue
        spread = f"{pct(walls, 10):.2f}–{pct(walls, 90):.2f}" if len(walls) > 1 else "n/a"
        rs = s.ratios(ss[base]) if base in ss else []
        w(f"| {LABEL.get(name, name)} | {fmt(s.wall())} | {listing(s.medians())} | {spread} | "
          f"{fmt(s.cpu())} | {fmt(s.rss(), '.1f')} | {fmt(med(rs))} | {listing(rs)} | {nf}/{n} |")


def headline_table(w, ss, bases):
    """Like timing_table, with a paired ratio column pair for each of `bases`."""
    head = "".join(f"| × {b} | runs' × {b} " for b in bases)
    w(f"| runtime | median ms | runs' medians | p10–p90 ms (all rounds) | CPU ms | peak RSS MB {head}| failed |")
    w("|---|---:|---:|---:|---:|---:|" + "---:|---:|" * len(bases) + "---:|")
    for name, s in ss.items():
        nf, n = s.failed()
        walls = s.pooled()
        if not walls:
            w(f"| {LABEL.get(name, name)} | – | | | | |" + " | |" * len(bases) + f" {nf}/{n} |")
            continue
        spread = f"{pct(walls, 10):.2f}–{pct(walls, 90):.2f}" if len(walls) > 1 else "n/a"
        cols = ""
        for b in bases:
            rs = s.ratios(ss[b]) if b in ss else []
            cols += f" {fmt(med(rs))} | {listing(rs)} |"
        w(f"| {LABEL.get(name, name)} | {fmt(s.wall())} | {listing(s.medians())} | {spread} | "
          f"{fmt(s.cpu())} | {fmt(s.rss(), '.1f')} |{cols} {nf}/{n} |")


def paired_diffs(a, b):
    """Per run: the median over its rounds of (a's wall − b's wall in the same round)."""
    out = []
    for x, y in zip(a.per_run, b.per_run):
        g, h = good(x), good(y)
        d = [g[r][0] - h[r][0] for r in g if r in h]
        if d:
            out.append(med(d))
    return out


def tracer_figures(runs):
    """Per run: (median attach ms, median ns per check untraced, traced, checks recorded)."""
    out = []
    for d in runs:
        rows = read_tsv(os.path.join(d, "tracer.tsv"))
        att = [float(r[2]) for r in rows if r[0] == "attach-ms"]
        off = [float(r[2]) for r in rows if r[0] == "check-ns-off"]
        on = [float(r[2]) for r in rows if r[0] == "check-ns-on"]
        seen = [int(r[3]) for r in rows if r[0] == "check-ns-on" and len(r) > 3]
        if att or off:
            out.append((med(att), med(off), med(on), med(seen)))
    return out


def main():
    work = sys.argv[1]
    runs = sorted(glob.glob(os.path.join(work, "run[0-9]*")), key=lambda d: int(d.rsplit("run", 1)[1]))
    meta = dict(read_tsv(os.path.join(work, "meta.tsv"), 2))
    start = series(runs, "seq.tsv")
    execs = series(runs, "exec.tsv")
    cg = series(runs, "cgroups.tsv")
    commands = read_tsv(os.path.join(runs[0], "commands.tsv"), 2) if runs else []
    failed = read_tsv(os.path.join(runs[0], "failed.tsv"), 2) if runs else []
    skipped = read_lines(os.path.join(work, "skipped"))
    notes = read_lines(os.path.join(work, "notes"))
    seen = set()  # a note every run repeats (runc's refusal) is shown once
    for d in runs:
        for n in read_lines(os.path.join(d, "notes")):
            if n[:60] not in seen:
                seen.add(n[:60])
                notes.append(f"{os.path.basename(d)}: {n}")
    leftovers = read_lines(os.path.join(work, "leftovers"))
    nrep = len(runs)

    out = []
    w = out.append
    w("# minirun start-up benchmark")
    w("")
    w(f"The whole bench ran {nrep} time(s); every figure is computed per run and the table gives "
      "the median of the runs' figures, with each run's own beside it. In a run, every contestant "
      f"starts `/bin/true` in `{meta.get('rootfs', '?')}`: {meta.get('warmup', '?')} warm-up runs "
      f"each, then {meta.get('runs', '?')} rounds; a round runs every contestant once, in an order "
      "shuffled every round (bench/measure.c says why). Wall time is fork to wait4 in the measuring helper; CPU and peak RSS are the wait4 "
      "rusage of the runtime process and everything it waited for. A ratio is the median over a "
      "run's rounds of (contestant / crun in the same round).")
    w("")

    head = {n: cg[n] for n in ("cgroups-on", "trace-caps", "cgroups-off", "rootless", "bwrap-user", "floor", "bwrap") if n in cg}
    if "cgroups-on" in head:
        w("## Headline: the default configuration")
        w("")
        w("`minirun ROOTFS /bin/true` as it runs with no option: its cgroup (the cgroupfs manager on "
          "this host's real hierarchies) and Docker's seccomp profile. Timed by bench/cgroups.sh in "
          f"rounds of its own ({meta.get('cg_runs', '?')} per run, order shuffled), with the C floor "
          "and bubblewrap (which make no cgroup) in the same rounds, so the ratios are paired. "
          "The `--trace-caps` row is the same launch with the capability tracer attached; the rootless "
          "row is the quick form run by an ordinary user (bench/cgroups.sh makes and removes it), "
          "beside bwrap run by that user the same way.")
        w("")
        headline_table(w, head, ["floor", "bwrap"])
        w("")
    w("## Build measured")
    w("")
    if "minirun" in meta:
        size = int(meta.get("minirun_size", 0))
        w(f"- binary: `{meta['minirun']}`, {size} bytes ({size / MIB:.2f} MiB), "
          f"built {meta.get('minirun_built', '?')}")
        w(f"- file: {meta.get('minirun_file', '?')}")
        w(f"- commit: {meta.get('commit', '?')}")
        w(f"- RUST_BACKTRACE in the environment: {meta.get('rust_backtrace', '?')}")
    else:
        w("- no minirun binary")
    w("")

    crun = start.get("crun")
    if crun and crun.pooled():
        w("## Machine noise")
        w("")
        w("crun's own wall times in the same rounds (it does not change between runs, so its "
          "spread is the machine's):")
        w("")
        w("| run | p10 ms | median ms | p90 ms | IQR ms | (p90−p10)/median |")
        w("|---|---:|---:|---:|---:|---:|")
        for d, rs in zip(runs, crun.per_run):
            xs = [v[0] for v in good(rs).values()]
            if len(xs) < 2:
                continue
            m = med(xs)
            w(f"| {os.path.basename(d)} | {pct(xs, 10):.2f} | {m:.2f} | {pct(xs, 90):.2f} | "
              f"{pct(xs, 75) - pct(xs, 25):.2f} | {(pct(xs, 90) - pct(xs, 10)) / m:.0%} |")
        ms = crun.medians()
        if len(ms) > 1:
            w("")
            w(f"crun's median moved by {max(ms) - min(ms):.2f} ms ({(max(ms) - min(ms)) / med(ms):.0%}) "
              "between runs: a difference smaller than that between two `make bench` results is drift.")
        w("")

    w("## Start-up")
    w("")
    timing_table(w, start, "crun")
    for name, err in failed:
        w(f"| {LABEL.get(name, name)} | FAILED | | | | | | | {err.replace('|', '/')} |")
    for line in skipped:
        name, _, why = line.partition(": ")
        w(f"| {LABEL.get(name, name)} | {why.replace('|', '/')} | | | | | | | |")
    w("")
    if "minirun" in start and "floor" in start:
        rs = start["minirun"].ratios(start["floor"])
        w(f"minirun quick form against the floor (paired): {fmt(med(rs))}× (runs: {listing(rs)}).")
        w("")
    if "minirun" in start and "minirun-unconfined" in start:
        diffs = paired_diffs(start["minirun"], start["minirun-unconfined"])
        if diffs:
            d = med(diffs)
            w(f"seccomp cost (quick form, Docker's profile from the cache, minus unconfined, paired "
              f"median): {d:.3f} ms (runs: {listing(diffs, '.3f')}), budget 0.1 ms: "
              f"{'within' if d <= 0.1 else 'OVER'}.")
            w("")

    seccomp = read_tsv(os.path.join(runs[0], "seccomp.tsv"), 2) if runs else []
    if seccomp:
        w("## Confinement each contestant's workload had")
        w("")
        w("From `/proc/self/status` in the workload (the same command with `cat /proc/self/status` "
          "as its workload; mode 2 is a seccomp filter). The OCI bundle carries Docker's profile "
          "(as `minirun spec` writes it) for crun, runc and minirun alike.")
        w("")
        w("| contestant | Seccomp |")
        w("|---|---|")
        for name, line in sorted(seccomp, key=lambda r: order_key(r[0])):
            w(f"| {LABEL.get(name, name)} | {line.strip()} |")
        w("")

    if cg:
        on, off = cg.get("cgroups-on"), cg.get("cgroups-off")
        w("## The cgroup's cost (bench/cgroups.sh)")
        w("")
        w("crun cannot use this host's hybrid cgroup layout, so the start-up table above has "
          "cgroups off for every runtime. The headline's rounds also run the quick form with "
          "`--cgroup-manager disabled`; the paired difference is what the cgroup costs (made in "
          "every hierarchy, Docker's device rules, CLONE_INTO_CGROUP, the v1 joins, removal).")
        w("")
        if on and off:
            diffs = paired_diffs(on, off)
            w(f"cgroup cost, paired median: {fmt(med(diffs), '.3f')} ms (runs: {listing(diffs, '.3f')}); "
              f"budget 0.3 ms: {'within' if med(diffs) <= 0.3 else 'OVER'}.")
            w("")
        tr = cg.get("trace-caps")
        figs = tracer_figures(runs)
        if tr and on or figs:
            w("## The capability tracer (`--trace-caps`)")
            w("")
            if tr and on:
                diffs = paired_diffs(tr, on)
                w(f"- a launch with the tracer against the default, paired: +{fmt(med(diffs), '.3f')} ms "
                  f"(runs: {listing(diffs, '.3f')})")
            if figs:
                att = [f[0] for f in figs if f[0] is not None]
                w(f"- attaching (maps, three programs loaded and verified, three raw tracepoints), "
                  f"as each traced launch reports it: median {fmt(med(att))} ms (runs: {listing(att)})")
                pc = [(f[1], f[2], f[3]) for f in figs if f[1] is not None and f[2] is not None]
                if pc:
                    over = [b - a for a, b, _ in pc]
                    w(f"- per checked call (bench/capcheck.c: {meta.get('checks', '?')} `setuid(0)` calls in "
                      f"the default container, each one syscall and one CAP_SETUID check): "
                      f"{fmt(med([a for a, _, _ in pc]), '.0f')} ns untraced, "
                      f"{fmt(med([b for _, b, _ in pc]), '.0f')} ns traced, +{fmt(med(over), '.0f')} ns "
                      f"per check (runs: {listing(over, '.0f')}); the tracer recorded "
                      f"{fmt(med([c for _, _, c in pc if c is not None]), '.0f')} of the checks (the rest "
                      f"were dropped when its ring buffer was full)")
            w("")

    if execs:
        w("## exec into a running container")
        w("")
        w("Each runtime's own container, started with `run -d` from the same bundle with "
          "`sleep 3600` as its workload; `RUNTIME exec ID /bin/true` timed in interleaved rounds; "
          "both are killed and deleted afterwards.")
        w("")
        timing_table(w, execs, "crun-exec")
        w("")

    par = [read_tsv(os.path.join(d, "par.tsv")) for d in runs]
    if any(par):
        w(f"## Throughput: {meta.get('tp_total', '?')} containers, {meta.get('tp_conc', '?')} at a time")
        w("")
        w("| runtime | containers/s | runs | × crun | failed |")
        w("|---|---:|---:|---:|---:|")
        rate = {}  # name -> [per-run rate]
        bad = {}
        for p in par:
            for name, total, ok, nbad in p:
                rate.setdefault(name, []).append((int(ok) + int(nbad)) / (int(total) / 1e9))
                bad[name] = bad.get(name, 0) + int(nbad)
        for name in sorted(rate, key=order_key):
            x = [a / b for a, b in zip(rate[name], rate.get("crun", []))]
            w(f"| {LABEL.get(name, name)} | {med(rate[name]):.1f} | {listing(rate[name], '.1f')} | "
              f"{fmt(med(x))} | {bad[name]} |")
        w("")
        targets_rate = rate
    else:
        targets_rate = {}

    # The issue's targets (issue 25), from the figures above.
    rows = []

    def target(what, ok, shown):
        rows.append(f"| {what} | {shown} | {'met' if ok else 'NOT met'} |")

    on = cg.get("cgroups-on")
    for base, limit, what in (("floor", 1.5, "default (cgroups on) ≤ 1.5× floor"),
                              ("bwrap", 1.0, "default (cgroups on) faster than bwrap")):
        if on and base in cg:
            r = med(on.ratios(cg[base]))
            ok = r is not None and (r <= limit if base == "floor" else r < limit)
            target(what, ok, f"{fmt(r)}×")
    if on and "cgroups-off" in cg:
        d = med(paired_diffs(on, cg["cgroups-off"]))
        target("the cgroup's cost ≤ 0.3 ms", d is not None and d <= 0.3, f"{fmt(d, '.3f')} ms")
    if "minirun" in start and "minirun-unconfined" in start:
        d = med(paired_diffs(start["minirun"], start["minirun-unconfined"]))
        target("the seccomp filter's cost ≤ 0.1 ms", d is not None and d <= 0.1, f"{fmt(d, '.3f')} ms")
    if "minirun-exec" in execs and "crun-exec" in execs:
        r = med(execs["minirun-exec"].ratios(execs["crun-exec"]))
        target("exec ≤ 0.5× crun exec", r is not None and r <= 0.5, f"{fmt(r)}×")
    if "minirun-oci" in start and crun:
        r = med(start["minirun-oci"].ratios(crun))
        target("OCI run ≤ 0.6× crun", r is not None and r <= 0.6, f"{fmt(r)}×")
    if "minirun" in targets_rate and "crun" in targets_rate:
        x = med([a / b for a, b in zip(targets_rate["minirun"], targets_rate["crun"])])
        target("throughput ≥ 2× crun, 0 failures", x >= 2 and bad.get("minirun", 1) == 0,
               f"{x:.2f}×, {bad.get('minirun')} failed")
    rss = on.rss() if on else start["minirun"].rss() if "minirun" in start else None
    if rss is not None:
        target("peak RSS ≤ 2.0 MB (default, largest round)", rss <= 2.0, f"{fmt(rss)} MiB")
    if "minirun_size" in meta:
        size = int(meta["minirun_size"]) / MIB
        target("binary ≤ 2.5 MB", size <= 2.5, f"{size:.2f} MiB")
    if rows:
        w("## Targets (issue 25)")
        w("")
        w("| target | measured (median of the runs) | |")
        w("|---|---:|---|")
        out.extend(rows)
        w("")

    w("## Commands")
    w("")
    w("`$WORK` is a temporary directory (bundles, state roots), removed afterwards; "
      "`{}` is a fresh container id per run.")
    w("")
    for name, cmd in sorted(commands, key=lambda r: order_key(r[0])):
        w(f"- {name}: `{cmd.strip().replace(work, '$WORK')}`")
    w("")

    w("## Environment")
    w("")
    w("- all contestants run inside one `unshare -m --propagation private` mount "
      f"namespace whose /sys/fs/cgroup is {meta.get('cgview', '?')}; "
      "no cgroup is created or joined (except by bench/cgroups.sh, above)")
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
