/*
 * extract.c: getting code (or a review verdict) out of a model's text,
 * and keeping the LLM key out of everything the model says.
 *
 * Models are asked for one JSON object, but do not always comply.  The
 * code is taken, in order, from: the whole text as a JSON object with a
 * string "code"; a JSON object with a string "code" anywhere in the text;
 * the first ```python fenced block; the first bare ``` block.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base.h"

#define EXTRACT_MAX_OBJECTS	64	/* '{' positions tried in a text */

/*
 * A newly allocated copy of s with every occurrence of secret replaced by
 * "[REDACTED]".  NULL only if out of memory.
 */
char *
extract_redact(const char *s, const char *secret)
{
	static const char	 mark[] = "[REDACTED]";
	size_t			 sl, n = 0, len;
	const char		*p;
	char			*out, *o;

	if (secret == NULL || (sl = strlen(secret)) == 0)
		return strdup(s);
	for (p = s; (p = strstr(p, secret)) != NULL; p += sl)
		n++;
	len = strlen(s) + n * sizeof(mark);
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (o = out, p = s; *p != '\0';) {
		if (strncmp(p, secret, sl) == 0) {
			memcpy(o, mark, sizeof(mark) - 1);
			o += sizeof(mark) - 1;
			p += sl;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

/* The first JSON object in text that has key (of type t); caller puts it. */
static struct json_object *
extract_object(const char *text, const char *key, enum json_type t)
{
	struct json_tokener	*tok;
	struct json_object	*o, *v;
	const char		*p = text;
	int			 tries = 0;

	while ((p = strchr(p, '{')) != NULL && tries++ < EXTRACT_MAX_OBJECTS) {
		if ((tok = json_tokener_new_ex(16)) == NULL)
			return NULL;
		o = json_tokener_parse_ex(tok, p, (int)strlen(p));
		json_tokener_free(tok);
		if (o != NULL && json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, key, &v) &&
		    json_object_is_type(v, t))
			return o;
		json_object_put(o);
		p++;
	}
	return NULL;
}

/* The body of the first ``` block whose info string is lang ("" = bare). */
static char *
extract_fence(const char *text, const char *lang)
{
	const char	*p = text, *info, *end, *nl;
	size_t		 ll = strlen(lang), il;

	while ((p = strstr(p, "```")) != NULL) {
		info = p + 3;
		if ((nl = strchr(info, '\n')) == NULL)
			return NULL;
		for (il = (size_t)(nl - info); il > 0 &&
		    isspace((unsigned char)info[il - 1]); il--)
			;
		if ((end = strstr(nl + 1, "```")) == NULL)
			return NULL;
		if (il == ll && strncasecmp(info, lang, ll) == 0)
			return strndup(nl + 1, (size_t)(end - nl - 1));
		p = end + 3;
	}
	return NULL;
}

static void
extract_from_object(struct json_object *o, struct llm_code *out)
{
	struct json_object	*v;

	json_object_object_get_ex(o, "code", &v);
	out->code = strdup(json_object_get_string(v));
	if (json_object_object_get_ex(o, "explanation", &v) &&
	    json_object_is_type(v, json_type_string))
		out->explanation = strdup(json_object_get_string(v));
	if (json_object_object_get_ex(o, "safe", &v) &&
	    json_object_is_type(v, json_type_boolean))
		out->safe = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "concerns", &v) &&
	    json_object_is_type(v, json_type_array))
		out->concerns = json_object_get(v);
}

/*
 * Fills out from the model's text (already redacted).  PYEXEC_OK, or
 * PYEXEC_ERR_INVALID when there is no usable code.  The caller frees out
 * with extract_free(), also on error.
 */
enum pyexec_err
extract_code(const char *text, struct llm_code *out)
{
	struct json_object	*o;

	memset(out, 0, sizeof(*out));
	out->safe = true;
	if ((o = extract_object(text, "code", json_type_string)) != NULL) {
		extract_from_object(o, out);
		json_object_put(o);
	} else if ((out->code = extract_fence(text, "python")) == NULL)
		out->code = extract_fence(text, "");
	if (out->code == NULL)
		return PYEXEC_ERR_INVALID;
	if (out->concerns == NULL)
		out->concerns = json_object_new_array();
	/* Whitespace only is no code. */
	if (out->code[strspn(out->code, " \t\r\n")] == '\0')
		return PYEXEC_ERR_INVALID;
	return PYEXEC_OK;
}

/* A review: {"safe": bool, "concerns": [...]} anywhere in the text. */
enum pyexec_err
extract_review(const char *text, bool *safe, struct json_object **concerns)
{
	struct json_object	*o, *v;

	*concerns = NULL;
	if ((o = extract_object(text, "safe", json_type_boolean)) == NULL)
		return PYEXEC_ERR_INVALID;
	json_object_object_get_ex(o, "safe", &v);
	*safe = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "concerns", &v) &&
	    json_object_is_type(v, json_type_array))
		*concerns = json_object_get(v);
	else
		*concerns = json_object_new_array();
	json_object_put(o);
	return PYEXEC_OK;
}

void
extract_free(struct llm_code *c)
{
	free(c->code);
	free(c->explanation);
	json_object_put(c->concerns);
	memset(c, 0, sizeof(*c));
}
