/*
 * fake_env.c: the world the fakes (fake.h) run the core in: the
 * configuration as config_load() makes it from an empty environment (its
 * defaults) plus what the test sets, and a core environment of a slot
 * with no store.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

void
fake_world_init(struct fake_world *w, const char *const *set)
{
	char	err[256], name[128];
	const char *eq;

	memset(w, 0, sizeof(*w));
	ck_assert_int_eq(clearenv(), 0);
	for (; set != NULL && *set != NULL; set++) {
		ck_assert_ptr_nonnull(eq = strchr(*set, '='));
		snprintf(name, sizeof(name), "%.*s", (int)(eq - *set), *set);
		ck_assert_int_eq(setenv(name, eq + 1, 1), 0);
	}
	ck_assert_msg(config_load(&w->cfg, err, sizeof(err)) == PYEXEC_OK,
	    "config_load: %s", err);
	w->rs.ctl_fd = -1;
	w->env = (struct core_env){ .cfg = &w->cfg, .rs = &w->rs,
	    .met = &w->met, .slot = &w->slot, .id = 1, .store = -1 };
	fake_reset();
}

void
fake_reset(void)
{
	fake_run_reset();
	fake_llm_reset();
	fake_store_reset();
}

void
fake_task(struct fake_world *w, const struct field_table *tab,
    const char *body, struct exec_request *req, struct task *t)
{
	struct field_error	e;

	memset(req, 0, sizeof(*req));
	memset(t, 0, sizeof(*t));
	ck_assert_msg(request_parse(tab, body, strlen(body), &w->cfg, req, &e) ==
	    PYEXEC_OK, "refused: %s (%s)", body, e.text);
	t->req = req;
	t->deadline_ms = clock_mono_ms() + config_budget(&w->cfg);
	t->queue_ms = -1;
}
