#!/bin/sh
# Builds the busybox fixture rootfs: Debian's static busybox, its applets as links, a minimal
# /etc with root, app (1000:1000) and nobody, and capprobe when it has been built.
# Usage: rootfs-fixtures/busybox.sh OUTDIR [CAPPROBE]
set -eu
out=${1:?usage: busybox.sh OUTDIR [CAPPROBE]}
probe=${2:-}
# Absolute, since the build below runs from inside the new tree.
[ -n "$probe" ] && probe=$(readlink -f "$probe")
bb=/bin/busybox
if ! "$bb" --list >/dev/null 2>&1 || ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
    # busybox-static provides /bin/busybox; a dynamic busybox would need libc in the rootfs.
    if [ ! -x "$bb" ] || ldd "$bb" >/dev/null 2>&1; then
        echo "fixtures: installing busybox-static" >&2
        apt-get install -y -qq busybox-static >/dev/null
    fi
fi
tmp=$out.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
cd "$tmp"
mkdir -p bin sbin usr/bin usr/sbin etc root home/app tmp proc sys dev var/tmp run
cp "$bb" bin/busybox
for applet in $(./bin/busybox --list); do
    [ "$applet" = busybox ] && continue
    [ -e "bin/$applet" ] || ln -s busybox "bin/$applet"
done
chmod 1777 tmp var/tmp
chmod 700 root
cat > etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > etc/group <<'G'
root:x:0:
app:x:1000:
nogroup:x:65534:
G
chown 1000:1000 home/app
echo 'minirun fixture' > etc/hostname
# A file owned by nobody for chown/permission experiments.
echo 'owned by root' > tmp/f
if [ -n "$probe" ]; then
    [ -x "$probe" ] || { echo "fixtures: capprobe $probe is missing" >&2; exit 1; }
    cp "$probe" bin/capprobe
fi
cd - >/dev/null
rm -rf "$out"
mv "$tmp" "$out"
echo "fixtures: built $out"
