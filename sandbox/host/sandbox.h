/*
 * sandbox.h: slots, their cgroups, and running code in them: what
 * fcgi-app/ may call of the sandbox (cgroup.h, slot.h, run.h; the
 * workspace store's messages are store.h).
 *
 * Theory of operation (the processes and what each may do):
 *
 *   master (root)      makes each slot once at start-up (host/slot.c):
 *                      three cgroups (host/cgroup.c: slot-N,
 *                      slot-N/launcher, slot-N/run), then the launcher,
 *                      cloned straight into new user, pid, mount, network,
 *                      ipc and uts namespaces and attached to
 *                      slot-N/launcher before it execs.  It hands one end
 *                      of a socketpair to the launcher and the other to the
 *                      slot's worker, and the launcher the run/ cgroup's
 *                      cgroup.procs files, opened.
 *   store (root)       host/store.c, forked by the master: the workspaces,
 *                      ext4 images it mounts detached and hands a worker,
 *                      per run, idmapped to the slot (store.h).
 *   worker (user)      one per slot.  For each run (host/run.c) it makes
 *                      the run's pipes, sets the limits and resets the
 *                      counters in the run/ cgroup files it owns (and
 *                      reclaims, after answering, what the run left
 *                      there), sends PROTO_RUN with the pipes, pumps code
 *                      and stdin in and stdout, stderr and the report out
 *                      with caps, and classifies the outcome from
 *                      PROTO_DONE and the cgroup counters (run_*).
 *   launcher (pid 1)   jail/launcher.c, in slot-N/launcher: out of reach
 *                      of a run's memory limit, OOM killer and CPU quota.
 *                      Hands each run to a ready zygote or to its keeper,
 *                      enforces the wall clock, kills the run's init,
 *                      answers PROTO_DONE once the run's pid namespace is
 *                      empty.  Loads a seccomp policy of its own.
 *   spawner            jail/spawner.c, forked by the launcher before that
 *                      policy: clones every keeper and zygote on the
 *                      launcher's word (CLONE_PARENT: the launcher's
 *                      children), so they carry no policy and each run
 *                      exactly one, its own.
 *   keeper             jail/keeper.c, in slot-N/launcher beside the
 *                      launcher: clones each cold run's init into fresh
 *                      pid, mount and IPC namespaces, and reaps it.
 *   zygotes            jail/zygote.c (pyexec-zygote.so) in python on the
 *                      runner, in slot-N/launcher: a bare one and one with
 *                      PYEXEC_PRELOAD imported.  Each keeps a spare (an
 *                      init in fresh namespaces and a forked, warmed-up
 *                      run under it); a warm run is the spare run taking
 *                      the cold run's steps (jail/runstep.c) without an
 *                      exec.
 *   run's init         pid 1 of the run's namespaces: mounts the run's own
 *                      /tmp, /dev/shm (tmpfs) and /proc (jail/root.c),
 *                      forks the run, reports its status.  Its end ends
 *                      the run.
 *   run                joins slot-N/run and a cgroup namespace of its own,
 *                      rlimits, setsid, dropped to the slot's run uid, a
 *                      fixed environment, no fd but its pipes, seccomp
 *                      (jail/filter.c), then execs python on
 *                      sandbox/runner.py (cold) or returns into it (warm).
 *
 * A cold run costs two forks and one exec, and namespaces that are cheap
 * to make; no cgroup is made per request.  A warm run's forks are made
 * before it is asked for: it costs one join of run/ (~1 ms on cgroup v1)
 * and whatever pages it touches (see docs/performance.md).
 *
 * The files, by floor (a file calls only files on floors below its own,
 * and includes only their headers; no two files call each other):
 *
 *   floor of both     proto.c/.h: the worker's and the launcher's messages
 *   host (pyexec-fcgi: sandbox/libsandbox.a; fcgi-app/ calls these)
 *     top             slot.c (the master's: makes a slot, starts its
 *                     launcher, waits for its first answer through run.c)
 *     2               run.c (the worker's side of a run)
 *     1               cgroup.c, store.c
 *   jail (pyexec-launcher; pyexec-zygote.so: zygote.c and what it calls)
 *     top             launcher.c; zygote.c (the library's top)
 *     3               spawner.c
 *     2               keeper.c
 *     1               runstep.c
 *     0               root.c, filter.c, jlog.c; keep.h, jail.h (data)
 *
 * The two sides never include each other's headers, nor fcgi-app/'s:
 * each is compiled with the floor and its own folder on its include path
 * (Makefile.am), so a call across or upward does not compile.
 */
#ifndef PYEXEC_SANDBOX_H
#define PYEXEC_SANDBOX_H

#include "cgroup.h"
#include "run.h"
#include "slot.h"

#endif /* PYEXEC_SANDBOX_H */
