/*
 * fake_llm.c: the model's client, faked at link time (fake.h): llm_chat()
 * answers what the test pushed, counts the call and its usage as the real
 * client does, and records the conversation it was sent.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

struct fake_llm_call	 fake_llm_seen[FAKE_MAX];
static struct fake_llm	 fake_llm_q[FAKE_MAX];
struct fake_queue	 fake_llms = FAKE_QUEUE("a model call", fake_llm_q);

static void
fake_llm_record(struct fake_llm_call *c, const struct llm_msg *msgs, size_t n)
{
	size_t	i;

	ck_assert_uint_le(n, sizeof(c->content) / sizeof(c->content[0]));
	c->n = n;
	for (i = 0; i < n; i++) {
		snprintf(c->role[i], sizeof(c->role[i]), "%s", msgs[i].role);
		c->content[i] = strdup(msgs[i].content);
	}
}

enum llm_err	__wrap_llm_chat(const struct pyexec_config *,
		    const struct llm_msg *, size_t, struct llm_reply *, char *,
		    size_t);

enum llm_err
__wrap_llm_chat(const struct pyexec_config *c, const struct llm_msg *msgs,
    size_t n, struct llm_reply *r, char *err, size_t errlen)
{
	const struct fake_llm	*f;

	(void)c;
	f = fake_queue_take(&fake_llms);
	fake_llm_record(&fake_llm_seen[fake_llms.calls - 1], msgs, n);
	r->calls++;
	r->ms += f->ms;
	if (f->e != LLM_OK) {
		snprintf(err, errlen, "%s", f->why != NULL ? f->why : "fake");
		return f->e;
	}
	free(r->content);
	r->content = strdup(f->text);
	r->prompt_tokens += f->prompt_tokens;
	r->completion_tokens += f->completion_tokens;
	return LLM_OK;
}

void
fake_llm_reset(void)
{
	unsigned	i;
	size_t		j;

	for (i = 0; i < FAKE_MAX; i++)
		for (j = 0; j < fake_llm_seen[i].n; j++)
			free(fake_llm_seen[i].content[j]);
	memset(fake_llm_seen, 0, sizeof(fake_llm_seen));
	fake_queue_reset(&fake_llms);
}
