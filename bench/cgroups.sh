#!/usr/bin/env bash
# The default configuration, and what its cgroup and the capability tracer cost.
#
# 1. Interleaved rounds on the host's real hierarchies of
#      cgroups-on   `minirun ROOTFS /bin/true`: the default quick form (the cgroupfs manager: a
#                   cgroup made in every hierarchy, Docker's device rules, CLONE_INTO_CGROUP,
#                   the v1 joins, removal; Docker's seccomp profile) -- the bench's headline row
#      cgroups-off  the same with `--cgroup-manager disabled` (the difference is the cgroup's
#                   cost; budget 0.3 ms)
#      trace-caps   the default with `--trace-caps` (the tracer's cost on a launch; each launch's
#                   summary on stderr says how long attaching took)
#      rootless     the quick form run by an ordinary user this script makes (and removes): a
#                   user namespace with the single mapping, no cgroup; through setpriv, which
#                   adds one execve, so it is compared with bwrap run the same way
#      bwrap-user   bubblewrap run by the same user through setpriv (it too makes a user
#                   namespace): rootless's fair neighbour
#      floor, bwrap the C floor and bubblewrap, which make no cgroup, in the same rounds: the
#                   headline's × floor and × bwrap are paired against them
# 2. The tracer's cost per capability check: bench/capcheck.c makes N checked setuid(0) calls in
#    the default container, with and without `--trace-caps`, alternating, PAIRS times.
#
#   bash bench/cgroups.sh        (as root; MINIRUN, ROOTFS, RUNS as in run.sh)
#   SEQ_OUT=FILE                 also keep the raw rounds (measure's TSV) in FILE
#   TRACER_OUT=FILE              and the tracer's figures (name, round, value[, value]) in FILE
#   CHECKS (100000), PAIRS (5)   the per-check measurement's size
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH")
if [[ -z ${MINIRUN:-} ]]; then
	MINIRUN=$REPO/target/x86_64-unknown-linux-musl/release/minirun
	[[ -x $MINIRUN ]] || MINIRUN=$REPO/target/x86_64-unknown-linux-gnu/release/minirun
fi
MINIRUN=$(realpath "$MINIRUN")
ROOTFS=$(realpath "${ROOTFS:-$REPO/rootfs-fixtures/build/busybox}")
RUNS=${RUNS:-200}
CHECKS=${CHECKS:-100000}
PAIRS=${PAIRS:-5}
command -v bwrap >/dev/null || { echo "cgroups.sh: bwrap missing (Debian package bubblewrap)" >&2; exit 1; }
mkdir -p "$BENCH/build"
for prog in measure floor capcheck; do
	if [[ ! -x $BENCH/build/$prog || $BENCH/$prog.c -nt $BENCH/build/$prog ]]; then
		gcc -O2 -Wall -static -o "$BENCH/build/$prog" "$BENCH/$prog.c"
	fi
done
WORK=$(mktemp -d /tmp/minirun-bench-cg.XXXXXX)
chmod 755 "$WORK"
# An ordinary user for the rootless rows, removed with the work directory at exit.
BUSER=mr-bench-$$
useradd --system --no-create-home --shell /usr/sbin/nologin "$BUSER"
trap 'pkill -KILL -u "$BUSER" 2>/dev/null || true; userdel "$BUSER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir "$WORK/err" "$WORK/tools" "$WORK/probe" "$WORK/xdg"
chown "$BUSER:" "$WORK/xdg"
cp "$MINIRUN" "$WORK/tools/minirun"
chmod 755 "$WORK/tools" "$WORK/tools/minirun"
AS_USER=("$(command -v setpriv)" --reuid="$BUSER" --regid="$BUSER" --clear-groups env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$WORK/xdg")
# The container sees only capcheck, read-only, at /home: a directory the fixture has, since
# a missing mount point would be made in the shared fixture and stay there.
cp "$BENCH/build/capcheck" "$WORK/probe/"
"$BENCH/build/measure" seq "$RUNS" 5 "$WORK/err" \
	cgroups-on "$MINIRUN" --root "$WORK/root" "$ROOTFS" /bin/true ::: \
	cgroups-off "$MINIRUN" --root "$WORK/root" --cgroup-manager disabled "$ROOTFS" /bin/true ::: \
	trace-caps "$MINIRUN" --root "$WORK/root" --trace-caps "$ROOTFS" /bin/true ::: \
	rootless "${AS_USER[@]}" "$WORK/tools/minirun" "$ROOTFS" /bin/true ::: \
	bwrap-user "${AS_USER[@]}" "$(command -v bwrap)" --unshare-all --bind "$ROOTFS" / --proc /proc --dev /dev /bin/true ::: \
	floor "$BENCH/build/floor" "$ROOTFS" /bin/true ::: \
	bwrap "$(command -v bwrap)" --unshare-all --bind "$ROOTFS" / --proc /proc --dev /dev /bin/true \
	>"$WORK/seq.tsv"
# Attach times, from each traced launch's summary ("tracer attached in 1.5 ms").
{
	n=0
	grep -o 'tracer attached in [0-9.]* ms' "$WORK/err/trace-caps.err" | while read -r _ _ _ ms _; do
		n=$((n + 1))
		printf 'attach-ms\t%d\t%s\n' "$n" "$ms"
	done
	for ((i = 1; i <= PAIRS; i++)); do
		for traced in no yes; do
			flags=(--root "$WORK/root" -v "$WORK/probe:/home:ro")
			[[ $traced == no ]] || flags+=(--trace-caps)
			out=$("$MINIRUN" "${flags[@]}" "$ROOTFS" /home/capcheck "$CHECKS" 2>"$WORK/check.err") ||
				{ echo "cgroups.sh: capcheck (traced: $traced) failed: $(tail -n2 "$WORK/check.err")" >&2; exit 1; }
			ns=$(awk '$1 == "capcheck" {print $3}' <<<"$out")
			if [[ $traced == no ]]; then
				printf 'check-ns-off\t%d\t%s\n' "$i" "$ns"
			else
				seen=$(grep -o 'checks by the container: [0-9]*' "$WORK/check.err" | awk '{print $NF}')
				printf 'check-ns-on\t%d\t%s\t%s\n' "$i" "$ns" "${seen:-0}"
			fi
		done
	done
} >"$WORK/tracer.tsv"
# run.sh folds the raw rounds into its report.
[[ -z ${SEQ_OUT:-} ]] || cp "$WORK/seq.tsv" "$SEQ_OUT"
[[ -z ${TRACER_OUT:-} ]] || cp "$WORK/tracer.tsv" "$TRACER_OUT"
python3 - "$WORK/seq.tsv" "$WORK/tracer.tsv" "$CHECKS" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
walls = {}
for name in ("cgroups-on", "cgroups-off", "trace-caps", "rootless", "bwrap-user", "floor", "bwrap"):
    w = {int(r[1]): int(r[2]) / 1e6 for r in rows if r[0] == name and r[6].strip() == "0"}
    bad = sum(1 for r in rows if r[0] == name and r[6].strip() != "0")
    if bad or not w:
        sys.exit(f"{name}: {bad} failed runs")
    walls[name] = w
    xs = list(w.values())
    q = statistics.quantiles(xs, n=10)
    print(f"{name:12} median {statistics.median(xs):.3f} ms  (p10 {q[0]:.3f}, p90 {q[-1]:.3f}, n={len(xs)})")
def paired(a, b, op):
    return statistics.median(op(walls[a][r], walls[b][r]) for r in walls[a] if r in walls[b])
cost = paired("cgroups-on", "cgroups-off", lambda x, y: x - y)
print(f"cgroup cost  paired median difference {cost:.3f} ms (budget 0.300 ms): {'within' if cost <= 0.3 else 'OVER'} budget")
for base, limit in (("floor", 1.5), ("bwrap", 1.0)):
    r = paired("cgroups-on", base, lambda x, y: x / y)
    print(f"default      {r:.2f}x {base} (paired; target {'<=' if base == 'floor' else '<'} {limit})")
print(f"trace-caps   +{paired('trace-caps', 'cgroups-on', lambda x, y: x - y):.3f} ms per launch (paired)")
print(f"rootless     {paired('rootless', 'bwrap-user', lambda x, y: x / y):.2f}x bwrap as the same user (paired), "
      f"{paired('rootless', 'cgroups-on', lambda x, y: x / y):.2f}x the root default")
t = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
att = [float(r[2]) for r in t if r[0] == "attach-ms"]
if att:
    print(f"tracer attach median {statistics.median(att):.2f} ms (n={len(att)})")
off = [float(r[2]) for r in t if r[0] == "check-ns-off"]
on = [(float(r[2]), int(r[3])) for r in t if r[0] == "check-ns-on"]
if off and on:
    d = statistics.median(a - b for (a, _), b in zip(on, off))
    seen = statistics.median(s for _, s in on)
    print(f"per check    {statistics.median(off):.0f} ns untraced, {statistics.median(a for a, _ in on):.0f} ns traced: "
          f"+{d:.0f} ns per checked call (paired); the tracer recorded {seen:.0f} of {sys.argv[3]} checks")
PY
