#!/bin/sh
# Unit tier (make check): the keyless list is written once, in
# PYEXEC_ANONYMOUS_FROM, and nginx's geo block gets it from pyexec-fcgi.
#  1. --nginx-geo prints "<address or network> 1;" a line, in the list's
#     order, nothing for an empty list; what the worker's parser refuses
#     (a bad entry, everyone however written) is a non-zero exit with a
#     message naming the entry, and nothing on stdout.
#  2. --nginx-geo-update writes PYEXEC_NGINX_ANONYMOUS_CONF: 0644 whatever
#     the umask, only when it changes (then it says to reload nginx), an
#     empty file for an empty list; a refused list leaves the file as it
#     was; nothing when the setting is empty or its directory is missing.
# Run from the build directory (make check).
set -eu
export LC_ALL=C
app=./fcgi-app/pyexec-fcgi
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bad() { echo "FAIL: $*" >&2; fail=1; }

# geo LIST WANT: --nginx-geo of LIST prints WANT (printf's escapes).
geo() {
    if ! env -i PYEXEC_ANONYMOUS_FROM="$1" "$app" --nginx-geo >"$tmp/out" 2>"$tmp/err"; then
        bad "--nginx-geo refused '$1': $(cat "$tmp/err")"
        return
    fi
    printf "$2" >"$tmp/want"
    cmp -s "$tmp/want" "$tmp/out" || bad "--nginx-geo of '$1' printed '$(cat "$tmp/out")'"
}

# refused LIST MESSAGE: --nginx-geo of LIST exits non-zero, prints nothing,
# and says MESSAGE on stderr.
refused() {
    if env -i PYEXEC_ANONYMOUS_FROM="$1" "$app" --nginx-geo >"$tmp/out" 2>"$tmp/err"; then
        bad "--nginx-geo accepted '$1'"
    fi
    [ ! -s "$tmp/out" ] || bad "--nginx-geo of '$1' printed '$(cat "$tmp/out")'"
    grep -qF "$2" "$tmp/err" || bad "--nginx-geo of '$1' did not say '$2': $(cat "$tmp/err")"
}

geo "" ""
geo ", " ""
geo "127.0.0.1" "127.0.0.1 1;\n"
geo "10.1.2.0/24, 2001:db8::/32 ::1" "10.1.2.0/24 1;\n2001:db8::/32 1;\n::1 1;\n"
geo "127.0.0.1,::ffff:10.0.0.0/104" "127.0.0.1 1;\n::ffff:10.0.0.0/104 1;\n"
env -i "$app" --nginx-geo >"$tmp/out" && [ ! -s "$tmp/out" ] ||
    bad "--nginx-geo without PYEXEC_ANONYMOUS_FROM is not empty"

refused "127.0.0.1,sidecar.internal" "PYEXEC_ANONYMOUS_FROM: 'sidecar.internal' is not an address or network"
refused "10.0.0.0/33" "'10.0.0.0/33' is not an address or network"
refused "10.0.0.0/+8" "'10.0.0.0/+8' is not an address or network"
refused "10.0.0.0/8;default" "'10.0.0.0/8;default' is not an address"
refused "0.0.0.0/0" "PYEXEC_ANONYMOUS_FROM: '0.0.0.0/0' is everyone"
refused "10.0.0.0/8 ::/0" "'::/0' is everyone"
refused "0.0.0.0/00" "'0.0.0.0/00' is everyone"
refused "::ffff:0.0.0.0/96" "'::ffff:0.0.0.0/96' is everyone"

# update LIST: --nginx-geo-update of LIST into $tmp/etc/geo.conf, umask 077.
conf=$tmp/etc/geo.conf
update() {
    (umask 077; env -i PYEXEC_ANONYMOUS_FROM="$1" PYEXEC_NGINX_ANONYMOUS_CONF="$conf" \
        "$app" --nginx-geo-update) 2>"$tmp/err"
}
mkdir "$tmp/etc"
update "127.0.0.1,10.1.2.0/24" || bad "--nginx-geo-update failed: $(cat "$tmp/err")"
printf '127.0.0.1 1;\n10.1.2.0/24 1;\n' | cmp -s - "$conf" || bad "--nginx-geo-update wrote '$(cat "$conf")'"
[ "$(stat -c %a "$conf")" = 644 ] || bad "$conf is mode $(stat -c %a "$conf"), not 644"
grep -q 'reload nginx' "$tmp/err" || bad "a changed file does not say to reload nginx: $(cat "$tmp/err")"
[ ! -e "$conf.new" ] || bad "$conf.new left behind"
ino=$(stat -c %i "$conf")
update "127.0.0.1, 10.1.2.0/24" || bad "--nginx-geo-update of the same list failed"
[ "$(stat -c %i "$conf")" = "$ino" ] || bad "the same list rewrote the file"
[ ! -s "$tmp/err" ] || bad "the same list said something: $(cat "$tmp/err")"
if update "127.0.0.1,0.0.0.0/0"; then bad "--nginx-geo-update accepted everyone"; fi
printf '127.0.0.1 1;\n10.1.2.0/24 1;\n' | cmp -s - "$conf" || bad "a refused list changed the file"
update "" || bad "--nginx-geo-update of an empty list failed"
[ -f "$conf" ] && [ ! -s "$conf" ] || bad "an empty list did not make an empty file"
conf=$tmp/none/geo.conf
update "127.0.0.1" || bad "--nginx-geo-update without its directory failed"
[ ! -e "$conf" ] || bad "--nginx-geo-update made a file without its directory"
env -i PYEXEC_ANONYMOUS_FROM=127.0.0.1 PYEXEC_NGINX_ANONYMOUS_CONF= "$app" \
    --nginx-geo-update 2>/dev/null || bad "--nginx-geo-update with the setting empty failed"

[ "$fail" = 0 ] && echo "nginx-geo: --nginx-geo and --nginx-geo-update as the worker's list"
exit "$fail"
