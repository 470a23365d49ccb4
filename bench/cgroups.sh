#!/usr/bin/env bash
# The cost of a container's cgroup on the quick form: `minirun ROOTFS /bin/true` with the
# default cgroupfs manager (cgroup made in every hierarchy, Docker's device rules written,
# CLONE_INTO_CGROUP, the v1 move, removal) against `--cgroup-manager disabled`, interleaved.
# Budget: 0.3 ms median difference.
#
#   bash bench/cgroups.sh        (as root; MINIRUN, ROOTFS, RUNS as in run.sh)
#   SEQ_OUT=FILE                 also keep the raw rounds (measure's TSV) in FILE
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
mkdir -p "$BENCH/build"
if [[ ! -x $BENCH/build/measure || $BENCH/measure.c -nt $BENCH/build/measure ]]; then
	gcc -O2 -Wall -static -o "$BENCH/build/measure" "$BENCH/measure.c"
fi
WORK=$(mktemp -d /tmp/minirun-bench-cg.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/err"
"$BENCH/build/measure" seq "$RUNS" 5 "$WORK/err" \
	cgroups-on "$MINIRUN" --root "$WORK/root" "$ROOTFS" /bin/true ::: \
	cgroups-off "$MINIRUN" --root "$WORK/root" --cgroup-manager disabled "$ROOTFS" /bin/true \
	>"$WORK/seq.tsv"
# run.sh folds the raw rounds into its report.
[[ -z ${SEQ_OUT:-} ]] || cp "$WORK/seq.tsv" "$SEQ_OUT"
python3 - "$WORK/seq.tsv" "$RUNS" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
med = {}
for name in ("cgroups-on", "cgroups-off"):
    walls = [int(r[2]) / 1e6 for r in rows if r[0] == name and r[6].strip() == "0"]
    bad = sum(1 for r in rows if r[0] == name and r[6].strip() != "0")
    if bad or not walls:
        sys.exit(f"{name}: {bad} failed runs")
    med[name] = statistics.median(walls)
    print(f"{name:12} median {med[name]:.3f} ms  (p10 {statistics.quantiles(walls, n=10)[0]:.3f}, p90 {statistics.quantiles(walls, n=10)[-1]:.3f}, n={len(walls)})")
cost = med["cgroups-on"] - med["cgroups-off"]
print(f"cgroup cost  median difference {cost:.3f} ms (budget 0.300 ms): {'within' if cost <= 0.3 else 'OVER'} budget")
PY
