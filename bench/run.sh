#!/usr/bin/env bash
# Start-up benchmark: minirun against crun, runc, bubblewrap and a C floor,
# each launching /bin/true in the same busybox rootfs.
#
#   bash bench/run.sh            (as root)
#
# Environment:
#   MINIRUN   minirun binary           (default: make build's static binary,
#                                      or target/release/minirun if newer)
#   ROOTFS    rootfs with /bin/true    (default rootfs-fixtures/build/busybox)
#   RUNS      timed rounds             (default 30)
#   TP_TOTAL  throughput: containers   (default 100)
#   TP_CONC   throughput: concurrency  (default 4)
#   REPEAT    whole bench this often   (default 1; make bench: 3), median of the runs' medians
#   CG_RUNS   headline rounds          (default 60, per repeat; bench/cgroups.sh: the default
#                                      with cgroups, off, --trace-caps, floor, bwrap)
#   CHECKS    capability checks timed  (default 100000; the tracer's cost per check)
#
# Writes a markdown report to stdout and to bench/results.md.
# See bench/README.md for what is measured and why the environment looks
# the way it does.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH")
BUILD=$BENCH/build
WARMUP=3

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Inner part: runs inside `unshare -m --propagation private`, so every mount
# made or removed here disappears with the namespace.
# ---------------------------------------------------------------------------
if [[ ${1:-} == --inner ]]; then
	: "${WORK:?}" "${OUT:?}" "${ROOTFS:?}" "${RUNS:?}" "${TP_TOTAL:?}" "${TP_CONC:?}"
	mkdir -p "$OUT"
	note() { printf '%s\n' "$*" >>"$OUT/notes"; }

	# 1. The cgroup view. crun 1.8 refuses the hybrid layout (v1 controllers
	#    plus cgroup2 at /sys/fs/cgroup/unified), and runc 1.1 always creates
	#    a cgroup per container. Replace the whole /sys/fs/cgroup tree, in
	#    this namespace only, by a READ-ONLY bind of the existing cgroup2
	#    hierarchy: no hybrid layout, and any cgroup a runtime tries to
	#    create fails with EROFS instead of being created.
	cg2=$(findmnt -rn -t cgroup2 -o TARGET | head -n1 || true)
	if [[ -n $cg2 ]]; then
		mkdir -p "$WORK/cgview"
		mount --bind "$cg2" "$WORK/cgview"
		mount -o remount,bind,ro "$WORK/cgview"
		if mountpoint -q /sys/fs/cgroup; then umount -R /sys/fs/cgroup; fi
		mount --move "$WORK/cgview" /sys/fs/cgroup
		CGVIEW="cgroup2, read-only (bind of host $cg2)"
	else
		# pure v1 host: just make sure nothing hybrid is left
		if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
		CGVIEW="cgroup v1 only (no cgroup2 mount on host)"
	fi
	echo "$CGVIEW" >"$OUT/cgview.txt"

	CRUN=(crun --root "$WORK/crun-root" --cgroup-manager=disabled run --bundle "$WORK/bundle")
	RUNC=(runc --root "$WORK/runc-root" run --bundle "$WORK/bundle")
	BWRAP=(bwrap --unshare-all --bind "$ROOTFS" / --proc /proc --dev /dev)

	# 2. Candidates: name, then argv ({} = fresh container id, last arg).
	declare -a NAMES=() CMDS=()
	add() { # name argv... ; a literal {} stays unquoted for later substitution
		local name=$1 a s=
		shift
		for a; do
			if [[ $a == '{}' ]]; then s+='{} '; else s+="$(printf '%q' "$a") "; fi
		done
		NAMES+=("$name") CMDS+=("$s")
	}

	if [[ -n ${MINIRUN_OK:-} ]]; then
		# Like crun above: no cgroups in this read-only view (bench/cgroups.sh measures them).
		add minirun "$MINIRUN" --cgroup-manager disabled "$ROOTFS" /bin/true
		# The same without Docker's seccomp profile: the difference is the filter's cost
		# (a cached compiled filter read and installed; budget 0.1 ms).
		add minirun-unconfined "$MINIRUN" --cgroup-manager disabled --security-opt seccomp=unconfined "$ROOTFS" /bin/true
	fi
	if [[ -n ${MINIRUN_OCI:-} ]]; then
		if [[ $MINIRUN_OCI == global-root ]]; then
			add minirun-oci "$MINIRUN" --cgroup-manager disabled --root "$WORK/minirun-root" run --bundle "$WORK/bundle" '{}'
		elif [[ $MINIRUN_OCI == run-root ]]; then
			add minirun-oci "$MINIRUN" --cgroup-manager disabled run --root "$WORK/minirun-root" --bundle "$WORK/bundle" '{}'
		else
			add minirun-oci "$MINIRUN" --cgroup-manager disabled run --bundle "$WORK/bundle" '{}'
		fi
	fi
	add crun "$(command -v crun)" "${CRUN[@]:1}" '{}'
	add runc "$(command -v runc)" "${RUNC[@]:1}" '{}'
	add bwrap "$(command -v bwrap)" "${BWRAP[@]:1}" /bin/true
	add floor "$BUILD/floor" "$ROOTFS" /bin/true

	# 3. One checked run each; a contestant that fails is reported, not timed.
	declare -a OK_NAMES=() OK_CMDS=()
	try() { # name cmdstring -> 0 if it ran /bin/true successfully
		local name=$1 cmd=${2//\{\}/mbcheck-$1-$RANDOM} rc=0
		eval "timeout -k 5 30 $cmd" >"$WORK/check-$name.out" 2>&1 </dev/null || rc=$?
		return $rc
	}
	for i in "${!NAMES[@]}"; do
		name=${NAMES[$i]} cmd=${CMDS[$i]} rc=0
		try "$name" "$cmd" || rc=$?
		if [[ $name == runc && $rc -ne 0 ]]; then
			err=$(tr '\n' ' ' <"$WORK/check-runc.out" | cut -c1-400)
			note "runc: plain \`runc run\` failed here (exit $rc): \`$err\`; retried with \`runc --rootless=true\` (cgroup errors ignored, no cgroupsPath, no limits)"
			cmd=$(printf '%q ' "$(command -v runc)" --rootless=true "${RUNC[@]:1}")'{}'
			rc=0
			try "$name" "$cmd" || rc=$?
		fi
		if [[ $rc -eq 0 ]]; then
			OK_NAMES+=("$name") OK_CMDS+=("$cmd")
			echo "$name	$cmd" >>"$OUT/commands.tsv"
		else
			err=$(tr '\n' ' ' <"$WORK/check-$name.out" | cut -c1-400)
			[[ -n $err ]] || err="(no output)"
			echo "$name	exit $rc: $err" >>"$OUT/failed.tsv"
			log "$name failed its check run (exit $rc): $err"
		fi
	done
	[[ ${#OK_NAMES[@]} -gt 0 ]] || { log "no contestant works"; exit 0; }

	# 3b. The confinement each contestant really gets: its workload's Seccomp lines from
	#     /proc/self/status (the same command with `cat /proc/self/status` as the workload;
	#     the OCI runtimes read it from a copy of the bundle that differs only in args).
	probe() { # name argv... -> "name<TAB>Seccomp: N, Seccomp_filters: M" in seccomp.tsv
		local name=$1 out
		shift
		out=$(timeout -k 5 30 "$@" 2>&1 </dev/null | grep '^Seccomp' | tr -s '\t\n' ' ' || true)
		echo "$name	${out:-no Seccomp line (the run failed?)}" >>"$OUT/seccomp.tsv"
	}
	for i in "${!OK_NAMES[@]}"; do
		cmd=${OK_CMDS[$i]//\{\}/mbprobe-${OK_NAMES[$i]}-$RANDOM}
		case $cmd in
		*"$WORK/bundle "*) cmd=${cmd//"$WORK/bundle "/"$WORK/bundle-probe "} ;;
		*/bin/true\ ) cmd="${cmd%/bin/true } /bin/cat /proc/self/status" ;;
		*) continue ;;
		esac
		eval "probe ${OK_NAMES[$i]} $cmd"
	done

	# 4. Interleaved timed rounds.
	mkdir -p "$OUT/err"
	args=()
	for i in "${!OK_NAMES[@]}"; do
		[[ $i -gt 0 ]] && args+=(:::)
		eval "args+=(${OK_NAMES[$i]} ${OK_CMDS[$i]})"
	done
	log "timing ${#OK_NAMES[@]} contestants: $WARMUP warm-up + $RUNS rounds"
	"$BUILD/measure" seq "$RUNS" "$WARMUP" "$OUT/err" "${args[@]}" >"$OUT/seq.tsv"

	# 5. Throughput: TP_TOTAL containers, TP_CONC at a time, one runtime after another.
	for i in "${!OK_NAMES[@]}"; do
		log "throughput: ${OK_NAMES[$i]}"
		eval "\"$BUILD/measure\" par $TP_TOTAL $TP_CONC \"$OUT/err\" ${OK_NAMES[$i]} ${OK_CMDS[$i]}" >>"$OUT/par.tsv"
	done

	# 6. exec into a running container: each runtime's own container, started detached from
	#    the same bundle with a long sleep as its workload, then `RUNTIME exec ID /bin/true`
	#    timed in interleaved rounds; both containers are killed and deleted afterwards.
	if [[ -n ${MINIRUN_OCI:-} ]]; then
		MR=("$MINIRUN" --cgroup-manager disabled --root "$WORK/minirun-root")
		CR=(crun --root "$WORK/crun-root" --cgroup-manager=disabled)
		rc=0
		"${MR[@]}" run -d --bundle "$WORK/bundle-sleep" mbexec-minirun </dev/null >/dev/null 2>"$OUT/exec-start.err" || rc=$?
		"${CR[@]}" run -d --bundle "$WORK/bundle-sleep" mbexec-crun </dev/null >/dev/null 2>>"$OUT/exec-start.err" || rc=$?
		if [[ $rc -eq 0 ]]; then
			probe "minirun-exec" "${MR[@]}" exec mbexec-minirun /bin/cat /proc/self/status
			probe "crun-exec" "${CR[@]}" exec mbexec-crun /bin/cat /proc/self/status
			log "timing exec: $WARMUP warm-up + $RUNS rounds"
			"$BUILD/measure" seq "$RUNS" "$WARMUP" "$OUT/err" \
				minirun-exec "${MR[@]}" exec mbexec-minirun /bin/true ::: \
				crun-exec "$(command -v crun)" "${CR[@]:1}" exec mbexec-crun /bin/true >"$OUT/exec.tsv"
		else
			note "exec: starting the sleeping containers failed (exit $rc): \`$(tr '\n' ' ' <"$OUT/exec-start.err" | cut -c1-300)\`"
		fi
		"${MR[@]}" delete --force mbexec-minirun >/dev/null 2>&1 || true
		"${CR[@]}" delete -f mbexec-crun >/dev/null 2>&1 || true
	fi

	# Whatever the contestants said on stderr while being timed.
	for f in "$OUT"/err/*.err; do
		[[ -s $f ]] || continue
		note "$(basename "$f" .err) wrote $(wc -l <"$f") stderr lines during the timed runs; first: \`$(head -n1 "$f" | cut -c1-300)\`"
	done
	exit 0
fi

# ---------------------------------------------------------------------------
# Outer part, on the host.
# ---------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "must run as root (containers need it)"
# Paths the caller gives are relative to the caller's directory; the
# defaults are relative to the repository.
abspath() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
[[ -z ${MINIRUN:-} ]] || MINIRUN=$(abspath "$MINIRUN")
[[ -z ${ROOTFS:-} ]] || ROOTFS=$(abspath "$ROOTFS")
cd "$REPO"

# Default: the static build `make build` makes (musl, or glibc where the musl target is missing),
# unless a plain `cargo build --release` is newer.
static_bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release/minirun
[[ -x $static_bin ]] || static_bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/minirun
if [[ -z ${MINIRUN:-} && -x $static_bin && ! ${CARGO_TARGET_DIR:-target}/release/minirun -nt $static_bin ]]; then
	MINIRUN=$static_bin
fi
MINIRUN=${MINIRUN:-${CARGO_TARGET_DIR:-target}/release/minirun}
RUNS=${RUNS:-30}
REPEAT=${REPEAT:-1}
CG_RUNS=${CG_RUNS:-60}
CHECKS=${CHECKS:-100000}
TP_TOTAL=${TP_TOTAL:-100}
TP_CONC=${TP_CONC:-4}
ROOTFS_SET=${ROOTFS:+yes}
ROOTFS=${ROOTFS:-rootfs-fixtures/build/busybox}
for v in RUNS REPEAT CG_RUNS CHECKS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done

# Tools (for a fresh machine).
need=()
for pkg in crun runc bubblewrap busybox-static gcc libc6-dev util-linux file git; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
done
command -v python3 >/dev/null || need+=(python3)
if [[ ${#need[@]} -gt 0 ]]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq "${need[@]}" >&2
fi

# Helpers, static so their own start-up is as cheap as it gets.
mkdir -p "$BUILD"
for prog in floor measure; do
	if [[ ! -x $BUILD/$prog || $BENCH/$prog.c -nt $BUILD/$prog ]]; then
		gcc -O2 -Wall -static -o "$BUILD/$prog" "$BENCH/$prog.c"
	fi
done

# Rootfs: the fixture, or (only when ROOTFS was not given) a minimal stand-in.
if [[ ! -e $ROOTFS/bin/true && ! -L $ROOTFS/bin/true ]]; then
	[[ -z $ROOTFS_SET ]] || die "ROOTFS=$ROOTFS has no bin/true"
	log "fixture rootfs $ROOTFS missing; using a minimal busybox rootfs at $BUILD/rootfs"
	ROOTFS_NOTE="fixture rootfs $ROOTFS not built; used a minimal stand-in (busybox-static, true and sh links, empty proc dev sys tmp etc)"
	ROOTFS=$BUILD/rootfs
	mkdir -p "$ROOTFS"/{bin,proc,dev,sys,tmp,etc}
	[[ -x $ROOTFS/bin/busybox ]] || cp /bin/busybox "$ROOTFS/bin/busybox"
	ln -sf busybox "$ROOTFS/bin/true"
	ln -sf busybox "$ROOTFS/bin/sh"
fi
ROOTFS=$(realpath "$ROOTFS")

WORK=$(mktemp -d /tmp/minirun-bench.XXXXXX)
[[ -z ${ROOTFS_NOTE:-} ]] || echo "$ROOTFS_NOTE" >>"$WORK/notes"
mounts_before=$(findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS)

leftovers() { # prints anything of ours still alive or mounted
	local p r
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		if [[ $r == "$ROOTFS"* ]]; then
			echo "process ${p#/proc/} still runs in the rootfs: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
		fi
	done
	pgrep -a -f -- "$WORK" | grep -v "^$$ " || true
	findmnt -rn -o TARGET | grep -F -e "$WORK" -e "$ROOTFS" | sed 's/^/mount left: /' || true
}

cleanup() {
	local id
	for id in $(crun --root "$WORK/crun-root" list -q 2>/dev/null); do
		crun --root "$WORK/crun-root" delete -f "$id" >/dev/null 2>&1 || true
	done
	for id in $(runc --root "$WORK/runc-root" list -q 2>/dev/null); do
		runc --root "$WORK/runc-root" delete -f "$id" >/dev/null 2>&1 || true
	done
	if [[ -d $WORK/minirun-root && -n $(ls -A "$WORK/minirun-root" 2>/dev/null) && -x $MINIRUN ]]; then
		for id in $(ls "$WORK/minirun-root"); do
			"$MINIRUN" "${MR_ROOT_GLOBAL[@]}" delete "${MR_ROOT_SUB[@]}" --force "$id" >/dev/null 2>&1 ||
				"$MINIRUN" "${MR_ROOT_GLOBAL[@]}" delete "${MR_ROOT_SUB[@]}" "$id" >/dev/null 2>&1 || true
		done
	fi
	rm -rf "$WORK"
}
MR_ROOT_GLOBAL=() MR_ROOT_SUB=()
trap cleanup EXIT

# minirun: quick form if the binary exists, OCI form if `run --help` works.
MINIRUN_OK= MINIRUN_OCI= MINIRUN_SIZE=
if [[ -x $MINIRUN ]]; then
	MINIRUN=$(realpath "$MINIRUN")
	MINIRUN_OK=1
	MINIRUN_SIZE=$(stat -c %s "$MINIRUN")
	if "$MINIRUN" run --help >/dev/null 2>&1; then
		if "$MINIRUN" --help 2>&1 | grep -q -- '--root'; then
			MINIRUN_OCI=global-root MR_ROOT_GLOBAL=(--root "$WORK/minirun-root")
		elif "$MINIRUN" run --help 2>&1 | grep -q -- '--root'; then
			MINIRUN_OCI=run-root MR_ROOT_SUB=(--root "$WORK/minirun-root")
		else
			MINIRUN_OCI=default-root
		fi
		mkdir -p "$WORK/minirun-root"
	else
		echo "minirun-oci: skipped: \`$MINIRUN run --help\` fails (OCI subcommands not there yet)" >>"$WORK/skipped"
	fi
else
	echo "minirun: skipped: $MINIRUN not found (build it: cargo build --release)" >>"$WORK/skipped"
	echo "minirun-oci: skipped: $MINIRUN not found" >>"$WORK/skipped"
fi

# The one bundle every OCI runtime runs: `crun spec`, edited to match the
# quick form (Docker's defaults) as closely as a config.json can.
mkdir -p "$WORK/bundle" "$WORK/crun-root" "$WORK/runc-root"
(cd "$WORK/bundle" && crun spec)
# Docker's seccomp profile for these capabilities, as `minirun spec` writes it (and docker
# passes it): every OCI runtime here compiles and installs the same filter.
mkdir -p "$WORK/mrspec"
[[ -z $MINIRUN_OK ]] || "$MINIRUN" spec --bundle "$WORK/mrspec" || die "minirun spec failed"
python3 - "$WORK/bundle/config.json" "$ROOTFS" "$WORK/mrspec/config.json" <<'EOF'
import json, os, sys
path, rootfs, mrspec = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(path))
if os.path.exists(mrspec):
    c["linux"]["seccomp"] = json.load(open(mrspec))["linux"]["seccomp"]
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"]
p = c["process"]
p["terminal"] = False
p["args"] = ["/bin/true"]
p["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps,
                     "inheritable": [], "ambient": []}
p.pop("rlimits", None)          # Docker sets none by default
p["noNewPrivileges"] = False    # Docker's default
c["root"] = {"path": rootfs, "readonly": False}
# no cgroup mount and no resources: nobody may create or join a cgroup here
c["mounts"] = [m for m in c["mounts"] if m["type"] != "cgroup"]
c["linux"].pop("resources", None)
c["linux"].pop("cgroupsPath", None)
c["linux"]["namespaces"] = [{"type": t} for t in
                            ("pid", "ipc", "uts", "mount", "network", "cgroup")]
json.dump(c, open(path, "w"), indent=2)
# Two copies that differ only in the workload: a long sleep to exec into, and a probe that
# prints the workload's Seccomp lines.
bundle = os.path.dirname(path)
for name, args in (("sleep", ["/bin/sleep", "3600"]), ("probe", ["/bin/cat", "/proc/self/status"])):
    os.makedirs(f"{bundle}-{name}", exist_ok=True)
    c["process"]["args"] = args
    json.dump(c, open(f"{bundle}-{name}/config.json", "w"), indent=2)
EOF

log "rootfs $ROOTFS; work dir $WORK"
export WORK ROOTFS RUNS TP_TOTAL TP_CONC MINIRUN MINIRUN_OK MINIRUN_OCI
# The whole bench REPEAT times (make bench: 3); the report gives the median of the runs' medians.
for ((rep = 1; rep <= REPEAT; rep++)); do
	log "run $rep of $REPEAT"
	OUT=$WORK/run$rep unshare -m --propagation private bash "$BENCH/run.sh" --inner
	# The headline: the default quick form with its cgroup (created, joined, removed per
	# container) against the floor and bwrap in the same rounds, its cgroup's and the capability
	# tracer's cost; on the host's real hierarchies, outside the read-only view above.
	if [[ -n $MINIRUN_OK ]]; then
		MINIRUN=$MINIRUN ROOTFS=$ROOTFS RUNS=$CG_RUNS CHECKS=$CHECKS SEQ_OUT=$WORK/run$rep/cgroups.tsv \
			TRACER_OUT=$WORK/run$rep/tracer.tsv bash "$BENCH/cgroups.sh" >&2 || echo "cgroups.sh failed in run $rep" >>"$WORK/notes"
	fi
done

# Anything left? (crun/runc/minirun state, processes, mounts)
left=$(leftovers)
for r in crun-root runc-root; do
	[[ -z $(ls -A "$WORK/$r" 2>/dev/null) ]] || left+=$'\n'"state left in $r: $(ls "$WORK/$r" | tr '\n' ' ')"
done
# (the seccomp directory is minirun's cache of compiled filters, not a container's state)
if [[ -d $WORK/minirun-root && -n $(ls -A "$WORK/minirun-root" | grep -vx seccomp) ]]; then
	left+=$'\n'"state left in minirun-root: $(ls "$WORK/minirun-root" | tr '\n' ' ')"
fi
mounts_after=$(findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS)
if [[ $mounts_before != "$mounts_after" ]]; then
	left+=$'\n'"host mount table changed during the run (another process, or us?): $(diff <(echo "$mounts_before") <(echo "$mounts_after") | grep '^[<>]' | tr '\n' ';')"
fi
left=$(sed '/^$/d' <<<"$left")
[[ -z $left ]] || { log "LEFTOVERS:"; echo "$left" >&2; }
printf '%s' "$left" >"$WORK/leftovers"

# Environment facts for the report.
{
	echo "date	$(date -u +%Y-%m-%dT%H:%MZ)"
	echo "kernel	$(uname -r)"
	echo "cpu	$(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "runs	$RUNS"
	echo "warmup	$WARMUP"
	echo "tp_total	$TP_TOTAL"
	echo "tp_conc	$TP_CONC"
	echo "rootfs	$ROOTFS"
	echo "cgview	$(cat "$WORK/run1/cgview.txt" 2>/dev/null || echo '?')"
	echo "repeat	$REPEAT"
	echo "cg_runs	$CG_RUNS"
	echo "checks	$CHECKS"
	echo "crun	$(crun --version | head -n1)"
	echo "runc	$(runc --version | head -n1)"
	echo "bwrap	$(bwrap --version | head -n1)"
	[[ -z $MINIRUN_OK ]] || echo "minirun	$MINIRUN"
	[[ -z $MINIRUN_SIZE ]] || echo "minirun_size	$MINIRUN_SIZE"
	# Which build was measured: file(1) says static or dynamic; the commit is the work tree's
	# (+dirty when it has uncommitted changes, which the binary may or may not include).
	[[ -z $MINIRUN_OK ]] || echo "minirun_file	$(file -b "$MINIRUN" | cut -c1-300)"
	[[ -z $MINIRUN_OK ]] || echo "minirun_built	$(date -u -r "$MINIRUN" +%Y-%m-%dT%H:%MZ)"
	commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')
	[[ -z $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] || commit+="+dirty"
	echo "commit	$commit"
	# Set on some machines; it makes every anyhow error capture a backtrace (≈1 ms each).
	echo "rust_backtrace	${RUST_BACKTRACE-unset}"
} >"$WORK/meta.tsv"

python3 "$BENCH/report.py" "$WORK" | tee "$BENCH/results.md"
