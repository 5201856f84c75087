# sourced by tests/systemd/run and tests/package/run: the host's side of a
# systemd-nspawn container on this machine (cgroup v1, no systemd as PID 1).
# cg_dirs needs NAME (our cgroup subdirectory under our current cgroup).

host_cgroups() { # every cgroup dir on the host, one per line
	local h
	for h in /sys/fs/cgroup/*/; do
		mountpoint -q "$h" && find "$h" -mindepth 1 -type d 2>/dev/null
	done | sort
}
host_sysctls() {
	sysctl fs.file-max fs.protected_fifos fs.protected_hardlinks \
		fs.protected_regular fs.protected_symlinks fs.suid_dumpable \
		kernel.core_pattern kernel.pid_max kernel.sysrq kernel.sched_rt_runtime_us \
		kernel.unprivileged_userns_clone net.ipv4.ip_forward vm.overcommit_memory 2>/dev/null || true
}

# Our cgroup in every hierarchy: <our current cgroup>/$NAME.
cg_dirs() {
	local h name key rel
	for h in /sys/fs/cgroup/*; do
		[ -L "$h" ] && continue
		mountpoint -q "$h" || continue
		name=${h##*/}
		case $name in
		unified) key=0 ;;
		systemd) key=name=systemd ;;
		*) key=$name ;;
		esac
		if [ "$key" = 0 ]; then
			rel=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
		else
			rel=$(awk -F: -v k="$key" '$2 == k { print $3 }' /proc/self/cgroup)
		fi
		[ -n "$rel" ] || continue
		echo "$h${rel%/}/$NAME"
	done
}
rm_cgroup_tree() { # $1: remove the dir and everything under it (empty cgroups)
	[ -d "$1" ] || return 0
	find "$1" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	[ ! -d "$1" ]
}
cg_make() { # $1: make our cgroup dir (a cpuset one gets its parent's cpus and mems)
	mkdir "$1"
	case $1 in
	*/cpuset/*) cat "$1/../cpuset.cpus" >"$1/cpuset.cpus"; cat "$1/../cpuset.mems" >"$1/cpuset.mems" ;;
	esac
}
