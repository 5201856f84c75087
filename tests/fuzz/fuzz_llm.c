/*
 * libFuzzer target: what the model says, the untrusted bytes of an LLM
 * answer, through everything the worker does with them (llm.c, extract.c):
 * the chat completion's JSON (llm_parse_answer), the Retry-After header,
 * the key's redaction (the key never survives it), and the code and the
 * review taken out of the content (extract_code, extract_review).  Built
 * and run by tests/fuzz/run under ASan and UBSan.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char secret[] = "sk-fuzz-SECRET-key-0123456789";

/* The key never survives the redaction, wherever and however often the
 * text holds it. */
static void
fuzz_redact(const char *text)
{
	char	*r = extract_redact(text, secret);

	if (r != NULL && strstr(r, secret) != NULL)
		abort();
	free(r);
}

static void
fuzz_content(const char *content)
{
	struct llm_code		 c;
	struct json_object	*concerns = NULL;
	bool			 safe = true;

	memset(&c, 0, sizeof(c));
	if (extract_code(content, &c) == PYEXEC_OK &&
	    (c.code == NULL || c.code[0] == '\0'))
		abort();		/* code found: never empty */
	extract_free(&c);
	if (extract_review(content, &safe, &concerns) == PYEXEC_OK &&
	    concerns != NULL && !json_object_is_type(concerns, json_type_array))
		abort();
	json_object_put(concerns);
	fuzz_redact(content);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*text = malloc(size + 1), err[256];
	struct llm_reply	 r;
	long			 ra;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&r, 0, sizeof(r));
	if (llm_parse_answer(text, size, &r, err, sizeof(err)) == LLM_OK) {
		if (r.content == NULL)
			abort();
		fuzz_content(r.content);
	} else if (err[0] == '\0')
		abort();
	llm_reply_free(&r);
	/* the bytes as the content itself, and as a Retry-After value */
	fuzz_content(text);
	ra = llm_parse_retry_after(text, size);
	if (ra < -1)
		abort();
	free(text);
	return 0;
}
