/*
 * llm.h (base): the model's client (llm.c) and what is read out of its
 * answers (extract.c).  Included through base.h (its enum pyexec_err).
 */
#ifndef PYEXEC_LLM_H
#define PYEXEC_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct pyexec_config;
/* llm.c: the OpenAI-compatible chat client. */
enum llm_err {
	LLM_OK = 0,
	LLM_NOT_CONFIGURED,	/* no key (503) */
	LLM_UNAVAILABLE,	/* unreachable or failing after retries (502) */
	LLM_TIMEOUT,		/* slower than PYEXEC_LLM_TIMEOUT (504) */
	LLM_BAD_RESPONSE,	/* not the answer we asked for (502) */
};

struct llm_msg {
	const char	*role;		/* borrowed */
	const char	*content;	/* borrowed */
};

/* What the model said, and its cost, summed over calls. */
struct llm_reply {
	char		*content;	/* owned: the last answer's text */
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
	double		 ms;
	unsigned	 calls;
};

enum llm_err	 llm_chat(const struct pyexec_config *, const struct llm_msg *,
		    size_t, struct llm_reply *, char *, size_t);
void		 llm_reply_free(struct llm_reply *);
const char	*llm_err_code(enum llm_err);
#define LLM_RETRY_AFTER_MAX	3600L	/* seconds */
long		 llm_parse_retry_after(const char *, size_t);
enum llm_err	 llm_parse_answer(const char *, size_t, struct llm_reply *,
		    char *, size_t);
int64_t		 llm_retry_wait_ms(long retry_after, unsigned try);
int64_t		 llm_remaining_ms(int64_t deadline, int64_t now);
int		 llm_err_status(enum llm_err);

/* extract.c: code out of a model's text.  The struct owns its members. */
struct llm_code {
	char			*code;
	char			*explanation;	/* may be NULL */
	bool			 safe;		/* true when the model did not say */
	struct json_object	*concerns;	/* array */
};

enum pyexec_err	 extract_code(const char *, struct llm_code *);
enum pyexec_err	 extract_review(const char *, bool *, struct json_object **);
void		 extract_free(struct llm_code *);
char		*extract_redact(const char *, const char *secret);

#endif /* PYEXEC_LLM_H */
