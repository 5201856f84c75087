/*
 * selftest.c: proving, from inside a slot, that its walls stand.
 *
 * Two runs through the ordinary run path: a probe that reports what it can
 * see and do (the table below names each check; every one must be true),
 * and a run that must be stopped by the cgroup's memory limit, each once
 * cold and once from each zygote that is ready (a warm run must prove the
 * same walls: checks cold_walls, warm_bare_walls, warm_data_walls); and,
 * from outside, that the slot's launcher is not in the run's cgroup (so
 * that a run's OOM killer cannot pick it); with workspaces, a run on each
 * path in the slot's own workspace (client "-selftest-<slot>", never a key's name)
 * that must find it on /workspace, its cwd, its own and writable
 * (check workspace_mounted; null when the store refused it for a limit
 * the runs share, the disk's floor, the counts or the rate: that is no
 * broken wall, and must not have the slot made again).  The worker
 * runs them before it serves (a failure means the master refuses to
 * serve) and again for /health when the last result is older than
 * SELFTEST_MAX_AGE_MS (SELFTEST_PUBLIC_AGE_MS without an API key).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "sandbox.h"

#define SELFTEST_MAX_AGE_MS	10000	/* /health with a key */
#define SELFTEST_PUBLIC_AGE_MS	60000	/* /health without one */
#define SELFTEST_MEMORY		(32ULL << 20)

static const char selftest_probe[] =
    "import json, os, socket\n"
    "c = {}\n"
    "st = dict(l.split(':\\t', 1) for l in open('/proc/self/status')"
    " .read().splitlines() if ':\\t' in l)\n"
    "c['uid_not_root'] = os.getuid() != 0 and os.geteuid() != 0\n"
    "c['no_capabilities'] = int(st.get('CapEff', '1'), 16) == 0\n"
    "c['no_new_privs'] = st.get('NoNewPrivs', '').strip() == '1'\n"
    "c['seccomp_active'] = st.get('Seccomp', '').strip() == '2'\n"
    "try:\n"
    "    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()\n"
    "    c['no_network'] = False\n"
    "except PermissionError:\n"
    "    c['no_network'] = True\n"
    "v6 = [l.split() for l in open('/proc/self/net/ipv6_route')]\n"
    "c['no_route'] = (len(open('/proc/self/net/route').read().splitlines()) <= 1\n"
    "    and all(int(r[8], 16) & 0x200 for r in v6))  # RTF_REJECT only\n"
    "def ro(p):\n"
    "    try:\n"
    "        open(p, 'w').close()\n"
    "    except OSError as e:\n"
    "        return e.errno == 30\n"
    "    return False\n"
    "c['root_read_only'] = ro('/.pyexec-selftest') and ro('/usr/.pyexec-selftest')\n"
    "open('/tmp/.pyexec-selftest', 'w').write('x')\n"
    "c['tmp_writable'] = open('/tmp/.pyexec-selftest').read() == 'x'\n"
    "c['host_hidden'] = not os.path.exists('/home') and not os.path.exists('/proc/1/environ')\n"
    "print(json.dumps(c))\n";

/* Every key the probe must report as true. */
static const char *const selftest_checks[] = {
	"uid_not_root", "no_capabilities", "no_new_privs", "seccomp_active",
	"no_network", "no_route", "root_read_only", "tmp_writable",
	"host_hidden",
};

/* The three ways a run starts. */
enum selftest_path {
	ST_COLD,
	ST_BARE,
	ST_DATA,
	ST_NPATHS,
};

static const char *const selftest_path_name[ST_NPATHS] = {
	"cold_walls", "warm_bare_walls", "warm_data_walls",
};

/* Whether the slot can take path now (its zygote is ready). */
static bool
selftest_path_ready(const struct core_env *env, enum selftest_path path)
{
	if (path == ST_BARE)
		return env->zyg.last.bare == PROTO_WARM_READY;
	if (path == ST_DATA)
		return env->zyg.last.data == PROTO_WARM_READY;
	return true;
}

/* A run by path.  1 if the path was not taken because its zygote is no
 * longer ready (it died meanwhile: not a failure of the walls). */
static int
selftest_run(struct core_env *env, const char *code, uint64_t memory,
    enum selftest_path path, int wsfd, struct run_result *r, char *err,
    size_t errlen)
{
	struct run_params	p = { .code = code, .code_len = strlen(code),
	    .stdin_data = NULL, .stdin_len = 0, .timeout = 10.0,
	    .memory_bytes = memory, .cpu_limit = config_default_cpu(env->cfg),
	    .max_output = 65536, .mode = RUN_MODE_SCRIPT, .unwrap = false,
	    .cold = path == ST_COLD, .data = path == ST_DATA,
	    .probe = true, .workspace = wsfd >= 0, .workspace_fd = wsfd };
	struct run_warm		wm;
	int			rc;

	err[0] = '\0';
	if ((rc = run_execute(env->rs, &p, r, err, errlen)) != 0)
		return rc;	/* 1: its zygote died meanwhile (lost) */
	if (r->warm == (path != ST_COLD) && r->warm_data == (path == ST_DATA))
		return 0;
	run_result_free(r);
	if (run_ping(env->rs, 2000, &wm) == 0) {
		status_warm_store(env->slot, env->met, &env->zyg, &wm);
		if (!selftest_path_ready(env, path))
			return 1;
	}
	snprintf(err, errlen, "check %s failed: the run did not start as "
	    "asked", selftest_path_name[path]);
	return -1;
}

/* The probe run: every check of the table true.  Adds them to checks (a
 * check is true only if it held on every path). */
static int
selftest_walls(struct core_env *env, enum selftest_path path,
    struct json_object *checks, char *err, size_t errlen)
{
	struct run_result	 r;
	struct json_object	*got = NULL, *v, *old;
	size_t			 i;
	int			 rc;
	bool			 ok;

	if ((rc = selftest_run(env, selftest_probe, (uint64_t)
	    env->cfg->default_memory_mb << 20, path, -1, &r, err, errlen)) != 0)
		return rc;
	if (r.outcome != RUN_COMPLETED)
		snprintf(err, errlen, "the probe run (%s) ended %s (exit %d, "
		    "signal %d): %.200s", selftest_path_name[path],
		    run_outcome_name(r.outcome), r.exit_code, r.signal,
		    r.err != NULL ? r.err : "");
	else if (r.out == NULL || (got = json_tokener_parse(r.out)) == NULL ||
	    !json_object_is_type(got, json_type_object))
		snprintf(err, errlen, "the probe's answer is not its JSON report: "
		    "%.100s", r.out != NULL ? r.out : "");
	for (i = 0; err[0] == '\0' &&
	    i < sizeof(selftest_checks) / sizeof(selftest_checks[0]); i++) {
		ok = json_object_object_get_ex(got, selftest_checks[i], &v) &&
		    json_object_get_boolean(v);
		if (json_object_object_get_ex(checks, selftest_checks[i], &old))
			ok = ok && json_object_get_boolean(old);
		json_object_object_add(checks, selftest_checks[i],
		    json_object_new_boolean(ok));
		if (!ok)
			snprintf(err, errlen, "check %s failed (%s)",
			    selftest_checks[i], selftest_path_name[path]);
	}
	json_object_put(got);
	run_result_free(&r);
	return err[0] == '\0' ? 0 : -1;
}

/* A run over a 32 MB limit must end as memory_limit. */
static int
selftest_memory(struct core_env *env, enum selftest_path path, char *err,
    size_t errlen)
{
	struct run_result	r;
	int			rc;

	if ((rc = selftest_run(env, "b = b'x' * (96 << 20)\n", SELFTEST_MEMORY,
	    path, -1, &r, err, errlen)) != 0)
		return rc;
	if (r.outcome != RUN_MEMORY_LIMIT)
		snprintf(err, errlen, "check memory_limit_enforced failed (%s): "
		    "a run over %llu MB ended %s", selftest_path_name[path],
		    SELFTEST_MEMORY >> 20, run_outcome_name(r.outcome));
	run_result_free(&r);
	return err[0] == '\0' ? 0 : -1;
}

static const char selftest_ws_probe[] =
    "import os\n"
    "open('selftest', 'w').write('ok')\n"
    "st = os.stat('selftest')\n"
    "print(os.getcwd() == '/workspace' and os.path.ismount('/workspace')"
    " and st.st_uid == os.getuid() == 1000 and"
    " open('selftest').read() == 'ok')\n";

/* Store answers that refuse a workspace for a limit, not a fault. */
static bool
selftest_ws_limit(int32_t st)
{
	return st == WS_NO_SPACE || st == WS_RATE || st == WS_TOTAL_LIMIT ||
	    st == WS_CLIENT_LIMIT;
}

/* A run in the slot's own workspace finds it mounted, its cwd, its own.
 * 0, -1 (err), or 2: the store refused it for a limit (skipped). */
static int
selftest_workspace(struct core_env *env, enum selftest_path path, char *err,
    size_t errlen)
{
	struct ws_req		q;
	struct ws_reply		a;
	struct run_result	r;
	char			client[32];
	int			fd = -1, rc;

	/* a client per slot: one workspace each, whatever the per-client cap */
	snprintf(client, sizeof(client), "-selftest-%u", env->id);
	ws_req_fill(&q, WS_ATTACH, client, "selftest", true);
	if (ws_call(env->store, &q, &a, &fd, 30000) == 0 &&
	    selftest_ws_limit(a.status)) {
		if (fd >= 0)
			close(fd);
		return 2;
	}
	if (fd < 0 ||
	    (a.status != WS_OK && a.status != WS_CREATED)) {
		snprintf(err, errlen, "check workspace_mounted failed (%s): the "
		    "store gave no workspace (%s)", selftest_path_name[path],
		    fd < 0 && a.status == WS_OK ? "no mount" :
		    ws_status_name((enum ws_status)a.status));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	env->ws_leased = true;
	rc = selftest_run(env, selftest_ws_probe, (uint64_t)
	    env->cfg->default_memory_mb << 20, path, fd, &r, err, errlen);
	close(fd);
	if (rc == 0) {
		if (r.outcome != RUN_COMPLETED || r.out == NULL ||
		    strcmp(r.out, "True\n") != 0)
			snprintf(err, errlen, "check workspace_mounted failed (%s): "
			    "%s %.150s", selftest_path_name[path],
			    run_outcome_name(r.outcome), r.err != NULL &&
			    r.err[0] ? r.err : r.out != NULL ? r.out : "");
		run_result_free(&r);
		rc = err[0] == '\0' ? 0 : -1;
	} else if (rc == RUN_NO_WORKSPACE) {
		/* the slot's own workspace, which no request reaches */
		snprintf(err, errlen, "check workspace_mounted failed (%s): the "
		    "run could not enter it", selftest_path_name[path]);
		rc = -1;
	}
	if (run_settle(env->rs, 10000) == 0)
		workspace_release(env);
	return rc;
}

/*
 * The launcher must not be in the run's cgroup (the run's OOM killer and
 * CPU quota would reach it): seen from outside, its memory cgroup is the
 * slot's launcher/ group.  /proc/PID/cgroup of the launcher, read here.
 */
static int
selftest_launcher_cgroup(struct core_env *env, char *err, size_t errlen)
{
	char		 path[64], line[512], want[600];
	const char	*p;
	FILE		*f;
	bool		 found = false;

	snprintf(path, sizeof(path), "/proc/%d/cgroup",
	    (int)env->slot->launcher_pid);
	snprintf(want, sizeof(want), "/%s/" SB_CG_LAUNCHER, env->rs->cg->name);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "check launcher_outside_run_cgroup failed: "
		    "%s: %s", path, strerror(errno));
		return -1;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		/* v1 "N:memory:/path", v2 "0::/path" */
		if ((p = strchr(line, ':')) == NULL)
			continue;
		if (strncmp(p, ":memory:", 8) == 0 || strncmp(p, "::", 2) == 0)
			found = strcmp(strrchr(line, ':') + 1, want) == 0;
	}
	fclose(f);
	if (!found)
		snprintf(err, errlen, "check launcher_outside_run_cgroup failed: "
		    "the launcher is not in %.150s", want);
	return found ? 0 : -1;
}

/*
 * Runs both and records the result in env->st.  0 if every wall stands;
 * -1 with env->st.reason set otherwise.  A run-path failure (the slot broke)
 * also marks the worker broken.
 */
int
selftest_check(struct core_env *env)
{
	struct json_object	*checks = json_object_new_object();
	char			 err[256] = "";
	int			 rc = 0, prc;
	enum selftest_path	 path;
	bool			 tested[ST_NPATHS] = { false };
	uint8_t			 gen[2] = { env->zyg.last.bare_gen,
				    env->zyg.last.data_gen };

	/* env->warm is fresh: both callers (the worker's start, /health) have
	 * just pinged the launcher. */
	for (path = ST_COLD; rc == 0 && path < ST_NPATHS; path++) {
		if (!selftest_path_ready(env, path))
			continue;
		prc = selftest_walls(env, path, checks, err, sizeof(err));
		if (prc == 0)
			prc = selftest_memory(env, path, err, sizeof(err));
		if (prc == 0 && env->cfg->workspaces && env->store >= 0) {
			prc = selftest_workspace(env, path, err, sizeof(err));
			json_object_object_add(checks, "workspace_mounted",
			    prc == 2 ? NULL : json_object_new_boolean(prc == 0));
			if (prc == 2)
				prc = 0;
		}
		if (prc == 1)
			continue;	/* its zygote died meanwhile */
		rc = prc;
		tested[path] = rc == 0;
		json_object_object_add(checks, selftest_path_name[path],
		    json_object_new_boolean(rc == 0));
		json_object_object_add(checks, "memory_limit_enforced",
		    json_object_new_boolean(rc == 0));
	}
	if (rc == 0) {
		rc = selftest_launcher_cgroup(env, err, sizeof(err));
		json_object_object_add(checks, "launcher_outside_run_cgroup",
		    json_object_new_boolean(rc == 0));
	}
	json_object_put(env->st.checks);
	env->st.checks = checks;
	env->st.ok = rc == 0;
	if (!env->st.ok)
		metrics_add(&env->met->selftest_failures, 1);
	/* Each zygote this self-test ran on is proven, in the generation
	 * it had when the test began (one started since is not: its runs
	 * wait for a later self-test, cold or from the other zygote). */
	if (env->st.ok && tested[ST_BARE]) {
		env->proven[0] = true;
		env->proven_gen[0] = gen[0];
	}
	if (env->st.ok && tested[ST_DATA]) {
		env->proven[1] = true;
		env->proven_gen[1] = gen[1];
	}
	env->st.at_ms = clock_mono_ms();
	env->slot->selftest_ok = env->st.ok;
	env->slot->selftest_at_ms = env->st.at_ms;
	snprintf(env->st.reason, sizeof(env->st.reason), "%s", err);
	return rc;
}

/* For /health: the last result, refreshed when it is too old (older for a
 * caller without a key, so that anyone cannot make us run probes). */
int
selftest_cached(struct core_env *env, bool keyed)
{
	int64_t	max = keyed ? SELFTEST_MAX_AGE_MS : SELFTEST_PUBLIC_AGE_MS;

	if (env->st.at_ms == 0 || clock_mono_ms() - env->st.at_ms > max)
		return selftest_check(env);
	return env->st.ok ? 0 : -1;
}

/* The result as a JSON object for /health (caller owns it). */
struct json_object *
selftest_json(const struct core_env *env)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(env->st.ok));
	json_object_object_add(o, "age_ms",
	    json_object_new_int64(clock_mono_ms() - env->st.at_ms));
	json_object_object_add(o, "checks", env->st.checks != NULL ?
	    json_object_get(env->st.checks) : NULL);
	if (!env->st.ok)
		json_object_object_add(o, "reason",
		    json_object_new_string(env->st.reason));
	return o;
}
