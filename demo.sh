#!/bin/sh
# `make demo`: the workshop's three steps, each as pscap shows it and as minirun's grid draws it.
# usage: demo.sh MINIRUN ROOTFS (MINIRUN_ROOT, if set, is minirun's --root)
set -eu
minirun=$1
rootfs=$2
m() { "$minirun" ${MINIRUN_ROOT:+--root "$MINIRUN_ROOT"} "$@"; }
command -v pscap >/dev/null || { echo "demo: pscap (libcap-ng-utils) is missing" >&2; exit 1; }

m "$rootfs" /bin/sh -c 'echo hello from $(hostname); cat /proc/1/cmdline | tr "\0" " "; echo'

step() {
    title=$1
    shift
    echo
    echo "== $title: minirun -d ${*:+$* }$rootfs sleep 30; pscap | grep sleep"
    id=$(m -d "$@" "$rootfs" sleep 30)
    pid=$(m state "$id" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
    pscap | awk -v pid="$pid" '$2 == pid'
    echo
    echo "== minirun caps $id"
    m caps "$id"
    m rm -f "$id" >/dev/null
}

step "Step 1, Docker's defaults"
step "Step 2, a blacklist" --cap-drop=setfcap --cap-drop=audit_write --cap-drop=mknod
step "Step 3, a whitelist" --cap-drop=all --cap-add=setuid --cap-add=setgid
