#!/bin/sh
# Packs a rootfs into a docker-archive tarball (the `docker save` layout, which `ctr images
# import` and `docker load` read) holding two images that share its one layer:
#   NAME            no entrypoint, for workloads that name their own command;
#   NAME-pause      a pod sandbox ("pause") image: sh as PID 1 reaps orphans and exits on TERM.
# No registry is needed, so clusters and tests without network can run pods from the fixture.
# Usage: rootfs-fixtures/image.sh ROOTFS OUT.tar NAME:TAG
set -eu
usage="usage: image.sh ROOTFS OUT.tar NAME:TAG"
rootfs=${1:?$usage}
out=${2:?$usage}
ref=${3:?$usage}
case $ref in *:*) ;; *) echo "image.sh: image reference '$ref' has no :TAG" >&2; exit 2 ;; esac
[ -x "$rootfs/bin/sh" ] || { echo "image.sh: $rootfs/bin/sh missing: run \`make fixtures\`" >&2; exit 1; }
name=${ref%:*}
tag=${ref##*:}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Owners kept numeric, timestamps zeroed: the same rootfs gives the same layer digest.
tar -C "$rootfs" --numeric-owner --mtime=@0 --sort=name -cf "$work/layer.tar" .
diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
config() { # ENTRYPOINT_JSON FILE
    cat > "$work/$2" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":$1,"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]}}
EOF
}
config null app.json
config '["/bin/sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]' pause.json
cat > "$work/manifest.json" <<EOF
[{"Config":"app.json","RepoTags":["$name:$tag"],"Layers":["layer.tar"]},
 {"Config":"pause.json","RepoTags":["$name-pause:$tag"],"Layers":["layer.tar"]}]
EOF
tar -C "$work" -cf "$out" manifest.json app.json pause.json layer.tar
echo "image.sh: $out holds $name:$tag and $name-pause:$tag"
