#!/usr/bin/env bash
# Validates the desktop integration files as the desktop tools read them, checks that they agree with each other
# and with the project, and that the committed PNG icons are what packaging/render-icons.sh makes of the SVG.
#
# Usage: packaging_files.sh SOURCE_DIR PROJECT_VERSION
set -euo pipefail

source=$1
version=$2
app_id=io.github.ckptlens.CheckpointLens
desktop=$source/packaging/$app_id.desktop
metainfo=$source/packaging/$app_id.metainfo.xml
mime=$source/packaging/$app_id.mime.xml
svg=$source/resources/icons/hicolor/scalable/apps/$app_id.svg

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
for tool in desktop-file-validate:desktop-file-utils appstreamcli:appstream xmllint:libxml2-utils \
    rsvg-convert:librsvg2-bin update-mime-database:shared-mime-info; do
    command -v "${tool%%:*}" >/dev/null ||
        fail "${tool%%:*} not found (Debian package ${tool#*:}; ./test.sh installs it)"
done

echo "== desktop-file-validate"
# It exits 0 on hints and warnings alike; any output at all is a finding.
out=$(desktop-file-validate "$desktop" 2>&1) || fail "desktop-file-validate: $out"
[ -z "$out" ] || fail "desktop-file-validate: $out"

echo "== appstreamcli validate --no-net"
appstreamcli validate --no-net "$metainfo" || fail "appstreamcli validate"

echo "== xmllint"
xmllint --noout "$mime" "$svg" || fail "xmllint"
# update-mime-database exits 0 even when it cannot parse a package (it only says so), so check what it built.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mime/packages"
cp "$mime" "$tmp/mime/packages/$app_id.xml"
update-mime-database "$tmp/mime" 2>"$tmp/umd.log" || { cat "$tmp/umd.log"; fail "update-mime-database"; }
sort "$tmp/mime/types" >"$tmp/types"
printf '%s\n' application/x-checkpoint-shard-index application/x-pytorch-checkpoint application/x-safetensors |
    cmp -s - "$tmp/types" ||
    { cat "$tmp/umd.log"; fail "the MIME database built from $mime has types: $(cat "$tmp/types")"; }
grep -q ':\*\.bin$' "$tmp/mime/globs2" &&
    fail "*.bin is claimed by glob; .bin files must be recognised by content only"
# Magic at 80 or more overrides globs in File::MimeInfo and GIO; a checkpoint's own extension must always win.
grep -o '<magic priority="[0-9]*"' "$mime" | grep -qvE '"([0-9]|[1-7][0-9])"' &&
    fail "a magic priority of 80 or more in $mime"

echo "== the files agree"
desktop_types=$(sed -n 's/^MimeType=//p' "$desktop" | tr ';' '\n' | sed '/^$/d' | sort)
metainfo_types=$(xmllint --xpath '//provides/mediatype/text()' "$metainfo" | sort)
[ "$desktop_types" = "$metainfo_types" ] ||
    fail "MimeType= of the desktop file ($desktop_types) differs from the metainfo's mediatypes ($metainfo_types)"
for t in $desktop_types; do
    grep -qx "$t" "$tmp/types" || fail "$t is in MimeType= but not defined by $mime"
done
[ "$(xmllint --xpath 'string(/component/id)' "$metainfo")" = "$app_id" ] || fail "metainfo id is not $app_id"
[ "$(xmllint --xpath 'string(//launchable[@type="desktop-id"])' "$metainfo")" = "$app_id.desktop" ] ||
    fail "metainfo launchable is not $app_id.desktop"
[ "$(sed -n 's/^Icon=//p' "$desktop")" = "$app_id" ] || fail "desktop Icon= is not $app_id"
[ "$(sed -n 's/^Exec=//p' "$desktop")" = "ckptlens %F" ] || fail "desktop Exec= is not 'ckptlens %F'"
binaries=$(xmllint --xpath '//provides/binary/text()' "$metainfo" | sort | tr '\n' ' ')
[ "$binaries" = "ckptlens ckptlens-cli " ] || fail "metainfo provides binaries '$binaries'"
newest=$(xmllint --xpath 'string(//releases/release[1]/@version)' "$metainfo")
[ "$newest" = "$version" ] || fail "newest release in the metainfo is $newest, the project is $version"
for shot in $(xmllint --xpath '//screenshot/image/text()' "$metainfo"); do
    [ -f "$source/resources/screenshots/$(basename "$shot")" ] ||
        fail "screenshot $shot is not in resources/screenshots"
done

echo "== icons"
"$source/packaging/render-icons.sh" "$tmp/icons" >/dev/null
for png in "$tmp"/icons/*/apps/$app_id.png; do
    size=$(basename "$(dirname "$(dirname "$png")")")
    committed=$source/resources/icons/hicolor/$size/apps/$app_id.png
    [ -f "$committed" ] || fail "no committed icon $size"
    # PNG IHDR: width and height as big-endian 32-bit integers at bytes 16..23.
    dims=$(od -An -tu1 -j16 -N8 "$committed" |
        awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 "x" $5 * 16777216 + $6 * 65536 + $7 * 256 + $8}')
    [ "$dims" = "$size" ] || fail "icon in $size is $dims"
    cmp -s "$png" "$committed" || fail "icon $size is out of date: run packaging/render-icons.sh"
done
echo "PASS"
