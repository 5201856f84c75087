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
fake_queue_push(struct fake_queue *q, const void *item)
{
	ck_assert_uint_lt(q->n, FAKE_MAX);
	memcpy((char *)q->items + q->n++ * q->size, item, q->size);
}

const void *
fake_queue_take(struct fake_queue *q)
{
	ck_assert_msg(q->calls < q->n, "%s nobody scripted (call %u)", q->what,
	    q->calls + 1);
	return (const char *)q->items + q->calls++ * q->size;
}

void
fake_queue_reset(struct fake_queue *q)
{
	q->n = q->calls = 0;
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

void
fake_exchange(struct fake_world *w, struct exchange *x, const char *body)
{
	memset(x, 0, sizeof(*x));
	x->env = &w->env;
	snprintf(x->id, sizeof(x->id), "0b6c6a3e-59d4-4f1e-9d5c-3a4c2f7c1b2a");
	ck_assert_ptr_nonnull(x->body = strdup(body));
	x->len = strlen(body);
	x->task.req = &x->req;
	x->task.deadline_ms = clock_mono_ms() + config_budget(&w->cfg);
	x->task.queue_ms = -1;
	x->task.client = "k:test";
}

struct fake_world	 fake_w;
struct exchange		 fake_x;
struct json_object	*fake_ans;

void
fake_x_setup(void)
{
	fake_world_init(&fake_w, NULL);
	fake_exchange(&fake_w, &fake_x, "");
	fake_ans = NULL;
}

void
fake_x_teardown(void)
{
	json_object_put(fake_ans);
	exchange_free(&fake_x);
	fake_reset();
}

struct json_object *
fake_answer(void)
{
	ck_assert_ptr_nonnull(fake_x.answer);
	json_object_put(fake_ans);
	ck_assert_msg((fake_ans = json_tokener_parse(fake_x.answer)) != NULL,
	    "not JSON: %s", fake_x.answer);
	return fake_ans;
}

struct json_object *
fake_get(struct json_object *o, const char *key)
{
	struct json_object	*v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s",
	    key, json_object_to_json_string(o));
	return v;
}

const char *
fake_str(struct json_object *o, const char *key)
{
	return json_object_get_string(fake_get(o, key));
}
