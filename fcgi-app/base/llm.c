/*
 * llm.c: the OpenAI-compatible chat-completions client (libcurl, json-c).
 *
 * One call is POST {PYEXEC_LLM_URL}/chat/completions with the key as a
 * bearer token.  The whole exchange, retries included, is bounded by
 * PYEXEC_LLM_TIMEOUT; 429, 5xx and connection errors are retried with a
 * doubling backoff (250 ms first), a Retry-After header is honoured, and
 * no wait runs past the deadline.  TLS peers are always verified.  The
 * answer is capped at PYEXEC_LLM_MAX_RESPONSE_BYTES.  Each worker keeps
 * one curl handle, so connections to the model are reused.
 *
 * The key is a secret: it goes into the Authorization header and nowhere
 * else; no message made here contains it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "base.h"

static CURL	*llm_curl;	/* this worker's handle, made on first use */

struct llm_buf {
	char	*p;		/* owned */
	size_t	 len, max;
	bool	 over;
	long	 retry_after;	/* seconds, from the header; -1: none */
};

static size_t
llm_on_data(char *data, size_t size, size_t n, void *ud)
{
	struct llm_buf	*b = ud;
	size_t		 len = size * n;
	char		*np;

	if (b->len + len > b->max) {
		b->over = true;
		return 0;	/* aborts the transfer */
	}
	if ((np = realloc(b->p, b->len + len + 1)) == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

/*
 * A Retry-After header's delay in seconds (the delta-seconds form; an
 * HTTP date is ignored), clamped to LLM_RETRY_AFTER_MAX; -1: none.  The
 * header is not NUL-terminated: at most len bytes are read.
 */
long
llm_parse_retry_after(const char *p, size_t len)
{
	long	v = 0;
	size_t	i = 0;

	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == len || p[i] < '0' || p[i] > '9')
		return -1;
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
		if ((v = v * 10 + (p[i] - '0')) > LLM_RETRY_AFTER_MAX)
			v = LLM_RETRY_AFTER_MAX;
	return v;
}

/* The wait before retry number try (0 first): Retry-After if the model
 * sent one, else 250 ms doubling; in ms, never negative or overflowing. */
int64_t
llm_retry_wait_ms(long retry_after, unsigned try)
{
	if (retry_after >= 0)
		return (int64_t)(retry_after < LLM_RETRY_AFTER_MAX ? retry_after :
		    LLM_RETRY_AFTER_MAX) * 1000;
	return try >= 16 ? (int64_t)250 << 16 : (int64_t)250 << try;
}

/* What is left of the budget for one call, in ms; 0 when nothing is (a
 * call is then not made: curl takes 0 as "no timeout"). */
int64_t
llm_remaining_ms(int64_t deadline, int64_t now)
{
	return deadline > now ? deadline - now : 0;
}

static size_t
llm_on_header(char *data, size_t size, size_t n, void *ud)
{
	struct llm_buf	*b = ud;
	size_t		 len = size * n;

	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0)
		b->retry_after = llm_parse_retry_after(data + 12, len - 12);
	return len;
}

const char *
llm_err_code(enum llm_err e)
{
	switch (e) {
	case LLM_NOT_CONFIGURED: return "llm_not_configured";
	case LLM_UNAVAILABLE:	 return "llm_unavailable";
	case LLM_TIMEOUT:	 return "llm_timeout";
	case LLM_BAD_RESPONSE:	 return "llm_bad_response";
	default:		 return "ok";
	}
}

int
llm_err_status(enum llm_err e)
{
	switch (e) {
	case LLM_NOT_CONFIGURED: return 503;
	case LLM_TIMEOUT:	 return 504;
	default:		 return 502;
	}
}

/* The request body; the caller frees it. */
static char *
llm_body(const struct pyexec_config *c, const struct llm_msg *msgs, size_t n)
{
	struct json_object	*o = json_object_new_object(), *arr, *m;
	char			*s;
	size_t			 i;

	json_object_object_add(o, "model", json_object_new_string(c->llm_model));
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		m = json_object_new_object();
		json_object_object_add(m, "role", json_object_new_string(msgs[i].role));
		json_object_object_add(m, "content",
		    json_object_new_string(msgs[i].content));
		json_object_array_add(arr, m);
	}
	json_object_object_add(o, "messages", arr);
	json_object_object_add(o, "temperature", json_object_new_double_s(0.2, "0.2"));
	json_object_object_add(o, "max_tokens", json_object_new_int(2048));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/*
 * Reads choices[0].message.content and the usage from the model's answer
 * (p: len bytes and a NUL, untrusted).  LLM_OK with r->content set (the
 * caller's), or LLM_BAD_RESPONSE and why in err.
 */
enum llm_err
llm_parse_answer(const char *p, size_t len, struct llm_reply *r, char *err,
    size_t errlen)
{
	struct json_object	*o, *ch, *msg, *content, *usage, *v;

	if (p == NULL || !envelope_utf8_valid(p, len) ||
	    memchr(p, '\0', len) != NULL || (o = json_tokener_parse(p)) == NULL) {
		snprintf(err, errlen, "the model's answer is not JSON");
		return LLM_BAD_RESPONSE;
	}
	/* (json-c asserts the type of what it indexes: an answer whose
	 * choices are not an array must be refused, not crash the worker) */
	if (!json_object_object_get_ex(o, "choices", &ch) ||
	    !json_object_is_type(ch, json_type_array) ||
	    (ch = json_object_array_get_idx(ch, 0)) == NULL ||
	    !json_object_object_get_ex(ch, "message", &msg) ||
	    !json_object_object_get_ex(msg, "content", &content) ||
	    !json_object_is_type(content, json_type_string)) {
		json_object_put(o);
		snprintf(err, errlen, "the model's answer has no "
		    "choices[0].message.content");
		return LLM_BAD_RESPONSE;
	}
	free(r->content);
	r->content = strdup(json_object_get_string(content));
	if (json_object_object_get_ex(o, "usage", &usage)) {
		if (json_object_object_get_ex(usage, "prompt_tokens", &v))
			r->prompt_tokens += json_object_get_int64(v);
		if (json_object_object_get_ex(usage, "completion_tokens", &v))
			r->completion_tokens += json_object_get_int64(v);
	}
	json_object_put(o);
	return r->content != NULL ? LLM_OK : LLM_BAD_RESPONSE;
}

static enum llm_err
llm_parse(const struct llm_buf *b, struct llm_reply *r, char *err, size_t errlen)
{
	return llm_parse_answer(b->p, b->len, r, err, errlen);
}

/* One HTTP exchange.  Sets *status (0 if none) and b. */
static CURLcode
llm_post(const struct pyexec_config *c, const char *body, long timeout_ms,
    struct llm_buf *b, long *status)
{
	struct curl_slist	*h = NULL;
	char			 url[1024], auth[1100];
	CURLcode		 rc;

	snprintf(url, sizeof(url), "%s/chat/completions", c->llm_url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->llm_key);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	explicit_bzero(auth, sizeof(auth));
	curl_easy_reset(llm_curl);
	curl_easy_setopt(llm_curl, CURLOPT_URL, url);
	curl_easy_setopt(llm_curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(llm_curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(llm_curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(llm_curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(llm_curl, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout_ms < 10000 ? timeout_ms : 10000L);
	curl_easy_setopt(llm_curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(llm_curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(llm_curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(llm_curl, CURLOPT_WRITEFUNCTION, llm_on_data);
	curl_easy_setopt(llm_curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(llm_curl, CURLOPT_HEADERFUNCTION, llm_on_header);
	curl_easy_setopt(llm_curl, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(llm_curl, CURLOPT_USERAGENT, "pyexec/" PACKAGE_VERSION);
	rc = curl_easy_perform(llm_curl);
	*status = 0;
	curl_easy_getinfo(llm_curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(llm_curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	return rc;
}

static void
llm_buf_clear(struct llm_buf *b, size_t max)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->retry_after = -1;
}

/*
 * One chat completion.  On LLM_OK r->content is the model's text (owned by
 * r; free with llm_reply_free()); otherwise err says why, without the key.
 * Tokens, time and calls add up in r over several calls.
 */
enum llm_err
llm_chat(const struct pyexec_config *c, const struct llm_msg *msgs, size_t n,
    struct llm_reply *r, char *err, size_t errlen)
{
	struct llm_buf	 b = { 0 };
	struct timespec	 ts0, ts1;
	int64_t		 deadline = clock_mono_ms() + (int64_t)(c->llm_timeout * 1000);
	enum llm_err	 rc = LLM_UNAVAILABLE;
	char		*body;
	unsigned	 try;
	long		 status;
	int64_t		 wait, left;
	CURLcode	 cc;

	if (c->llm_key == NULL) {
		snprintf(err, errlen, "no LLM key is configured: set "
		    "PYEXEC_LLM_API_KEY or PYEXEC_LLM_API_KEY_FILE (or "
		    "TOGETHER_API_KEY) for pyexec-fcgi");
		return LLM_NOT_CONFIGURED;
	}
	if (llm_curl == NULL && (llm_curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return LLM_UNAVAILABLE;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts0);
	if ((body = llm_body(c, msgs, n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return LLM_UNAVAILABLE;
	}
	for (try = 0; try <= c->llm_retries; try++) {
		if ((left = llm_remaining_ms(deadline, clock_mono_ms())) <= 0) {
			if (try == 0 || rc == LLM_TIMEOUT)
				rc = LLM_TIMEOUT;
			if (try == 0)
				snprintf(err, errlen, "the model did not answer "
				    "within %g s", c->llm_timeout);
			break;
		}
		llm_buf_clear(&b, c->llm_max_response);
		r->calls++;
		cc = llm_post(c, body, (long)left, &b, &status);
		if (cc == CURLE_OPERATION_TIMEDOUT) {
			snprintf(err, errlen, "the model did not answer within %g s",
			    c->llm_timeout);
			rc = LLM_TIMEOUT;
			break;
		}
		if (b.over) {
			snprintf(err, errlen, "the model's answer is larger than "
			    "%zu bytes", c->llm_max_response);
			rc = LLM_BAD_RESPONSE;
			break;
		}
		if (cc == CURLE_OK && status == 200) {
			rc = llm_parse(&b, r, err, errlen);
			break;
		}
		rc = LLM_UNAVAILABLE;
		if (cc != CURLE_OK)
			snprintf(err, errlen, "the model could not be reached: %s "
			    "(%u tries)", curl_easy_strerror(cc), try + 1);
		else
			snprintf(err, errlen, "the model answered HTTP %ld (%u "
			    "tries)", status, try + 1);
		if (cc == CURLE_OK && status != 429 && status < 500)
			break;		/* 4xx: retrying will not help */
		wait = llm_retry_wait_ms(b.retry_after, try);
		if (try == c->llm_retries ||
		    wait >= llm_remaining_ms(deadline, clock_mono_ms()))
			break;
		struct timespec ts = { (time_t)(wait / 1000),
		    (long)(wait % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts1);
	r->ms += (double)(ts1.tv_sec - ts0.tv_sec) * 1e3 +
	    (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e6;
	llm_buf_clear(&b, 0);
	free(body);
	return rc;
}

void
llm_reply_free(struct llm_reply *r)
{
	free(r->content);
	r->content = NULL;
}
