# sourced by tests/systemd/run and tests/package/run: the cached bookworm tree.
# PKGS is what pyexec needs at run time (its .deb's Depends, incl. nginx and
# adduser) plus what the test uses inside (curl, procps, iproute2, util-linux).
# PKGS_EXTRA (set before sourcing, default none) is what a caller's tree needs
# besides (tests/package/run: pytest, lintian, ...); it is part of the key,
# so the two trees are kept apart.
PKGS=(systemd systemd-sysv dbus python3 python3-numpy python3-pandas
      python3-matplotlib spawn-fcgi libfcgi0ldbl libjson-c5 libcurl4 libcgroup2
      libseccomp2 curl procps iproute2 util-linux adduser passwd nginx
      libjs-codemirror python3-plotly)
PKGS_EXTRA=(${PKGS_EXTRA[@]+"${PKGS_EXTRA[@]}"})
SUITE=bookworm

mirrors() { # the Debian mirrors this host uses (Debian's archive only)
	local main sec
	main=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | head -1 | tr -d ' ' || true)
	sec=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian-security/?( |$)' | head -1 | tr -d ' ' || true)
	main=${main:-http://deb.debian.org/debian}; sec=${sec:-http://deb.debian.org/debian-security}
	echo "deb ${main%/} $SUITE main"
	echo "deb ${main%/} $SUITE-updates main"
	echo "deb ${sec%/} $SUITE-security main"
}

# (without PKGS_EXTRA the key is what it was before PKGS_EXTRA existed)
tree_key() { printf '%s\n' "$SUITE" "${PKGS[@]}" ${PKGS_EXTRA[@]+"${PKGS_EXTRA[@]}"} | sha256sum | cut -c1-12; }

build_tree() { # $1 = destination (made only if missing)
	local dst=$1 tmp=$1.tmp inc m=()
	[ -e "$dst/usr/bin/python3" ] && return 0
	rm -rf --one-file-system "$tmp"
	inc=$(IFS=,; echo "${PKGS[*]}${PKGS_EXTRA[*]+,${PKGS_EXTRA[*]}}")
	while read -r l; do m+=("$l"); done < <(mirrors)
	mmdebstrap --variant=minbase --include="$inc" \
		--aptopt='APT::Install-Recommends "false"' --mode=root \
		"$SUITE" "$tmp" "${m[@]}" >"$W/mmdebstrap.log" 2>&1 ||
		{ tail -20 "$W/mmdebstrap.log" >&2; return 1; }
	# nginx is only a dependency of the package: it need not run in the test.
	ln -sf /dev/null "$tmp/etc/systemd/system/nginx.service"
	echo pyexec-test >"$tmp/etc/hostname"
	mv "$tmp" "$dst"
}
