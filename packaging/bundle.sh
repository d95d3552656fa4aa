#!/usr/bin/env bash
# make bundle: DIST/udocker-swift-VERSION-x86_64.tar.gz, a udocker that runs on any x86_64 Linux whatever its glibc:
#   bin/udocker bin/udocker-launch     program interpreter: a placeholder that ./install (`udocker install` run through
#                                      the bundle's loader) replaces with ROOT/lib/ld-linux-x86-64.so.2; RPATH
#                                      $ORIGIN/../lib (an RPATH, not a RUNPATH: it also serves libcurl's own libraries)
#   lib/                               every library they load, glibc and its loader included, and the libraries
#                                      they open on first use (libcurl, libarchive, libcrypto, libhwloc, libnuma,
#                                      libsquashfs)
#                                      with theirs
#   share/udocker/udocker-tools.tar.gz the engine tools in udocker 1.3's tarball layout, for `udocker install`:
#                                      proot, patchelf and runc (this machine's Debian packages) with their libraries
#                                      and loader, and libfakechroot from Debian bullseye, bookworm and trixie
#                                      (glibc 2.31, 2.36, 2.41), fetched with `apt-get download` and kept in CACHE
#   share/udocker/slurm, pbs           the job templates (the launcher also has them built in) and their examples
#   share/udocker/examples             examples/: the MPI programs, the sample image, the demo
#   install                            the set-up step: run it where the bundle was unpacked
#
# Usage: packaging/bundle.sh BUILDDIR VERSION DIST [CACHE]   (BUILDDIR holds udocker and udocker-launch)
# Needs: patchelf, dpkg-deb, apt-get, and the packages of `make deps`.
set -euo pipefail
builddir=$1 version=$2 dist=$3 cache=${4:-$3/.cache}
name=udocker-swift-$version
multiarch=/usr/lib/x86_64-linux-gnu
prefix=/udocker-bundle-interpreter-unset/   # Sources/UdockerCore/Install/ProgramInterpreter.swift
placeholder=$prefix$(head -c $((1000 - ${#prefix})) /dev/zero | tr '\0' x)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
top=$work/$name tools=$work/udocker_dir
mkdir -p "$top/bin" "$top/lib" "$top/share/udocker" "$tools/bin" "$tools/lib" "$tools/doc" "$dist" "$cache"
dist=$(cd "$dist" && pwd) cache=$(cd "$cache" && pwd)   # apt-get runs from elsewhere

# copy_closure DIR FILE...: every library FILE loads (as ldd resolves them on this machine) into DIR under its
# soname, the loader as ld-linux-x86-64.so.2.
copy_closure() {
    local dir=$1; shift
    ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 } $1 ~ /^\/.*ld-linux/ { print "ld-linux-x86-64.so.2", $1 }' |
        sort -u | while read -r soname path; do cp -L "$path" "$dir/$soname"; done
}

# for_bundle PROGRAM...: the placeholder interpreter and $ORIGIN/../lib.
for_bundle() {
    for program in "$@"; do
        patchelf --set-interpreter "$placeholder" --force-rpath --set-rpath '$ORIGIN/../lib' "$program"
    done
}

echo "== udocker and udocker-launch with their libraries" >&2
install -m 0755 -s "$builddir/udocker" "$builddir/udocker-launch" "$top/bin/"
on_demand=(libcurl.so.4 libarchive.so.13 libcrypto.so.3 libhwloc.so.15 libnuma.so.1 libsquashfs.so.1 libsquashfuse_ll.so.0 libfuse3.so.3)
copy_closure "$top/lib" "$top/bin/udocker" "$top/bin/udocker-launch" "${on_demand[@]/#/$multiarch/}"
cp -L "${on_demand[@]/#/$multiarch/}" "$top/lib/"
for_bundle "$top/bin/udocker" "$top/bin/udocker-launch"

echo "== engine tools: proot, patchelf, runc" >&2
for tool in proot patchelf runc; do install -m 0755 "$(command -v $tool)" "$tools/bin/$tool"; done
copy_closure "$tools/lib" "$tools"/bin/*
for_bundle "$tools"/bin/*

echo "== libfakechroot for glibc 2.31, 2.36 and 2.41" >&2
# A private apt configuration per suite: the machine's own sources and state stay untouched.
for suite in bullseye:11 bookworm:12 trixie:13; do
    codename=${suite%:*} release=${suite#*:} state=$cache/apt-$codename
    if ! ls "$cache"/libfakechroot_*"$codename"*.deb >/dev/null 2>&1; then
        mkdir -p "$state/lists/partial" "$state/archives/partial"
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename main" > "$state/sources.list"
        apt_options=(-q -o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
                     -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state" -o Dir::State::status=/dev/null
                     -o APT::Sandbox::User=root)
        apt-get "${apt_options[@]}" update >&2
        (cd "$state" && apt-get "${apt_options[@]}" download libfakechroot >&2)
        mv "$state"/libfakechroot_*.deb "$cache/libfakechroot_$codename.deb"
    fi
    mkdir -p "$work/deb-$codename"
    dpkg-deb -x "$cache/libfakechroot_$codename.deb" "$work/deb-$codename"
    install -m 0644 "$work/deb-$codename$multiarch/fakechroot/libfakechroot.so" "$tools/lib/libfakechroot-Debian-$release-x86_64.so"
done

echo "== job templates and examples" >&2
source=$(cd "$(dirname "$0")/.." && pwd)
cp -R "$source/slurm" "$source/pbs" "$source/examples" "$top/share/udocker/"

echo "$version" > "$tools/lib/VERSION"
cp README.md "$tools/doc/"
tar -C "$work" -czf "$top/share/udocker/udocker-tools.tar.gz" udocker_dir

cat > "$top/install" <<'SCRIPT'
#!/bin/sh
# Sets this unpacked bundle up where it is (its programs are pointed at its own glibc), then installs its engine
# tools into the udocker repository (~/.udocker, or UDOCKER_DIR). Run it again after moving the bundle.
# Arguments go to `udocker install` (e.g. --purge).
here=$(cd "$(dirname "$0")" && pwd -P) || exit 1
exec "$here/lib/ld-linux-x86-64.so.2" "$here/bin/udocker" install "$@"
SCRIPT
chmod 0755 "$top/install"

tar -C "$work" -czf "$dist/.$name-x86_64.tar.gz.partial" "$name"
mv "$dist/.$name-x86_64.tar.gz.partial" "$dist/$name-x86_64.tar.gz"
echo "$dist/$name-x86_64.tar.gz"
