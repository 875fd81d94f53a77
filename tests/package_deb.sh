#!/usr/bin/env bash
# Builds the .deb with cpack into a temp folder and checks its control fields and contents: both programs, the
# desktop files, no caches that belong to other packages, a Depends line that covers every shared library the
# programs link, and a packaged ckptlens-cli that runs outside the build tree.
#
# Usage: package_deb.sh BUILD_DIR SOURCE_DIR PROJECT_VERSION
set -euo pipefail

build=$1
source=$2
version=$3
app_id=io.github.ckptlens.CheckpointLens

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
for tool in cpack:cmake dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev file:file readelf:binutils; do
    command -v "${tool%%:*}" >/dev/null ||
        fail "${tool%%:*} not found (Debian package ${tool#*:}; ./test.sh installs it)"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== cpack -G DEB"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
    { cat "$tmp/cpack.log"; fail "cpack"; }
debs=("$tmp"/out/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { cat "$tmp/cpack.log"; fail "cpack made no single .deb: ${debs[*]}"; }
deb=${debs[0]}
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "ckptlens_${version}_$arch.deb" ] || fail "package file name $(basename "$deb")"
dpkg-deb -I "$deb"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = ckptlens ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), the project is $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ "$(field Section)" = science ] || fail "Section: $(field Section)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
field Description | grep -q "ckptlens-cli" || fail "the Description does not mention ckptlens-cli"

echo "== contents"
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$tmp/contents"
cat "$tmp/contents"
for f in /usr/bin/ckptlens /usr/bin/ckptlens-cli /usr/share/applications/$app_id.desktop \
    /usr/share/mime/packages/$app_id.xml /usr/share/metainfo/$app_id.metainfo.xml \
    /usr/share/icons/hicolor/scalable/apps/$app_id.svg; do
    grep -qx "$f" "$tmp/contents" || fail "$f is not in the package"
done
for size in 16 22 24 32 48 64 128 256; do
    grep -qx "/usr/share/icons/hicolor/${size}x$size/apps/$app_id.png" "$tmp/contents" ||
        fail "the ${size}x$size icon is not in the package"
done
# Caches are built on the target by shared-mime-info's and desktop-file-utils' dpkg triggers; shipping them would
# overwrite the system's with ones that know only this package.
grep -E '/(mime\.cache|mimeinfo\.cache|icon-theme\.cache|globs2?|magic)$' "$tmp/contents" &&
    fail "the package ships a cache file"

echo "== Depends covers what the programs link"
depends=$(field Depends)
echo "Depends: $depends"
dpkg-deb -x "$deb" "$tmp/root"
# The package that owns a library file. With merged /usr, dpkg knows a file under the path its package shipped it
# at (/lib/... or /usr/lib/...), which need not be the one ldconfig prints.
owner() {
    local real candidate
    real=$(readlink -f "$1")
    for candidate in "$1" "$real" "${real#/usr}" "/usr$real"; do
        dpkg -S "$candidate" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
    done
    return 1
}
missing=0
for bin in ckptlens ckptlens-cli; do
    file "$tmp/root/usr/bin/$bin" | grep -q ", stripped" || fail "$bin is not stripped"
    for lib in $(readelf -d "$tmp/root/usr/bin/$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        # awk reads to the end: leaving early would kill ldconfig with SIGPIPE, a failure under pipefail.
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !p {p = $NF} END {print p}')
        [ -n "$path" ] || fail "$bin needs $lib, which ldconfig does not know"
        pkg=$(owner "$path") || fail "no installed package owns $path ($lib, needed by $bin)"
        # A Depends entry may name the package or a virtual package it provides (libspdlog1.10 provides
        # libspdlog1.10-fmt9, the name its shlibs file gives, because its ABI follows fmt's).
        names=$(printf '%s\n' "$pkg"; dpkg-query -W -f='${Provides}' "$pkg" | tr ',' '\n' | sed 's/^ *//; s/ .*//')
        if echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qxF "$names"; then
            echo "ok   $bin: $lib from $pkg"
        else
            echo "FAIL $bin: $lib from $pkg, which Depends does not name" >&2
            missing=$((missing + 1))
        fi
    done
done
[ $missing -eq 0 ] || fail "$missing linked libraries not covered by Depends"
for pkg in libqt6core6 libqt6gui6 libqt6widgets6 libquazip1-qt6-1 libspdlog1.10-fmt9; do
    echo "$depends" | grep -q "\b$pkg\b" || fail "Depends lacks $pkg"
done

echo "== the packaged CLI runs outside the build tree"
"$tmp/root/usr/bin/ckptlens-cli" info "$source/resources/samples/tiny-transformer.pth" >"$tmp/info.txt" ||
    fail "packaged ckptlens-cli info failed"
grep -q "torch-zip" "$tmp/info.txt" || { cat "$tmp/info.txt"; fail "packaged ckptlens-cli info printed no format"; }
readelf -d "$tmp/root/usr/bin/ckptlens" | grep -qE 'R(UN)?PATH' && fail "the packaged ckptlens keeps an RPATH"
echo "PASS"
