#!/bin/sh
# Unit tier (make check): the settings have one source, config.c's table.
#  1. systemd/pyexec.env.example is what `pyexec-fcgi --env-example` prints
#     (the paths as make install's default prefix, /usr/local, writes them).
#     Regenerate it with: pyexec-fcgi --env-example >systemd/pyexec.env.example
#  2. Every setting pyexec-fcgi reads is in its man page (docs/pyexec-fcgi.8);
#     every nginx-side one (the file's "nginx side" section) in docs/*.md.
#  3. --nginx-defaults prints NAME=value lines, one for each nginx-side
#     setting with a default, matching the example's values.
# Run from the build directory; srcdir (automake), CFG_LIBEXECDIR and
# CFG_DATADIR (the configured paths, from Makefile.am) come from make.
set -eu
export LC_ALL=C
top=${srcdir:-.}
app=./fcgi-app/pyexec-fcgi
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

env -i PATH=/usr/bin:/bin "$app" --env-example >"$tmp/out"
if [ -n "${CFG_LIBEXECDIR:-}" ] && [ -n "${CFG_DATADIR:-}" ]; then
    sed -e "s|=$CFG_LIBEXECDIR/|=/usr/local/libexec/pyexec/|" \
        -e "s|=$CFG_DATADIR/|=/usr/local/share/pyexec/|" "$tmp/out" >"$tmp/norm"
else
    cp "$tmp/out" "$tmp/norm"
fi
if ! diff -u "$top/systemd/pyexec.env.example" "$tmp/norm"; then
    echo "FAIL: systemd/pyexec.env.example is not what pyexec-fcgi --env-example prints (above); regenerate it" >&2
    fail=1
fi

# name section: "nginx" for the nginx side, "app" for the rest.
awk '/^# --- / { sec = ($0 ~ /^# --- nginx side/) ? "nginx" : "app" }
     /^#[A-Z][A-Z0-9_]*=/ { sub(/^#/, ""); sub(/=.*/, ""); print $0, sec }' \
    "$tmp/out" >"$tmp/names"
[ -s "$tmp/names" ] || { echo "FAIL: no settings in --env-example" >&2; exit 1; }
while read -r name sec; do
    if [ "$sec" = app ]; then
        grep -q "$name" "$top/docs/pyexec-fcgi.8" ||
            { echo "FAIL: $name is not in docs/pyexec-fcgi.8" >&2; fail=1; }
    else
        cat "$top"/docs/*.md | grep -q "$name" ||
            { echo "FAIL: $name (nginx side) is not in docs/*.md" >&2; fail=1; }
    fi
done <"$tmp/names"

env -i PATH=/usr/bin:/bin "$app" --nginx-defaults >"$tmp/nginx"
grep -qx 'LISTEN=127.0.0.1:8080' "$tmp/nginx" ||
    { echo "FAIL: --nginx-defaults has no LISTEN line" >&2; fail=1; }
while IFS='=' read -r name value; do
    grep -qx "#PYEXEC_$name=$value" "$tmp/out" ||
        { echo "FAIL: --nginx-defaults $name=$value is not the example's default" >&2; fail=1; }
    grep -q "^PYEXEC_$name nginx\$" "$tmp/names" ||
        { echo "FAIL: --nginx-defaults $name is not an nginx-side setting" >&2; fail=1; }
done <"$tmp/nginx"
[ "$(wc -l <"$tmp/nginx")" -ge 6 ] ||
    { echo "FAIL: --nginx-defaults printed fewer than 6 lines" >&2; fail=1; }

[ "$fail" = 0 ] && echo "env-example: $(wc -l <"$tmp/names") settings, file and docs agree"
exit "$fail"
