/*
 * display.c: what a notebook cell showed (native routes: the value of its
 * last expression, and each display(obj)), checked again.
 *
 * The runner reports them in its report as "displays" (sandbox/runner.py,
 * _Display): {"value": repr, "from": "out" | "display", "cut": bool, and
 * for a pandas DataFrame or Series "table": {"columns", "dtypes", "shape",
 * "index", "rows", "cut"}}.  They come from inside the user's process,
 * so nothing in them is trusted: each item is rebuilt here from the parts
 * that pass (types, counts, lengths as the runner's own caps); an item
 * with a part that does not is dropped whole.  A forged one could only
 * change its own answer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define DISPLAY_ITEMS	50	/* the runner's _DISPLAY_ITEMS */
#define DISPLAY_VALUE	(10000 * 4)	/* bytes: 10000 characters of UTF-8 */
#define TABLE_ROWS	20	/* the runner's _TABLE_ROWS */
#define TABLE_COLS	50	/* the runner's _TABLE_COLS */
#define TABLE_TEXT	(1000 * 4)	/* bytes of a name, dtype or text cell */

/* A copy of string v of at most max bytes of valid UTF-8, or NULL. */
static struct json_object *
display_string(struct json_object *v, size_t max)
{
	if (v == NULL || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) > max ||
	    !envelope_utf8_valid(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v)))
		return NULL;
	return json_object_new_string_len(json_object_get_string(v),
	    json_object_get_string_len(v));
}

/* A copy of an array of at most n strings (each at most max bytes), or
 * NULL. */
static struct json_object *
display_strings(struct json_object *v, size_t n, size_t max)
{
	struct json_object	*a, *s;
	size_t			 i, len;

	if (v == NULL || !json_object_is_type(v, json_type_array) ||
	    (len = json_object_array_length(v)) > n)
		return NULL;
	a = json_object_new_array();
	for (i = 0; i < len; i++) {
		if ((s = display_string(json_object_array_get_idx(v, i),
		    max)) == NULL) {
			json_object_put(a);
			return NULL;
		}
		json_object_array_add(a, s);
	}
	return a;
}

/* A copy of one cell: a boolean, a number or a short string of valid
 * UTF-8; a list or an object (pandas' object columns) becomes its JSON
 * text.  NULL for a null, and for a cell that does not pass. */
static struct json_object *
display_cell(struct json_object *v)
{
	const char	*s;

	switch (json_object_get_type(v)) {
	case json_type_null:
		return NULL;
	case json_type_boolean:
		return json_object_new_boolean(json_object_get_boolean(v));
	case json_type_int:
		return json_object_new_int64(json_object_get_int64(v));
	case json_type_double:
		return json_object_new_double(json_object_get_double(v));
	case json_type_string:
		return display_string(v, TABLE_TEXT);
	default:
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		return strlen(s) <= TABLE_TEXT ? json_object_new_string(s) : NULL;
	}
}

/* A copy of the rows: at most TABLE_ROWS arrays of ncols cells, or NULL. */
static struct json_object *
display_rows(struct json_object *v, size_t ncols)
{
	struct json_object	*a, *r, *row, *c, *cell;
	size_t			 i, j, n;

	if (v == NULL || !json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) > TABLE_ROWS)
		return NULL;
	a = json_object_new_array();
	for (i = 0; i < n; i++) {
		r = json_object_array_get_idx(v, i);
		if (!json_object_is_type(r, json_type_array) ||
		    json_object_array_length(r) != ncols)
			goto bad;
		row = json_object_new_array();
		json_object_array_add(a, row);
		for (j = 0; j < ncols; j++) {
			c = json_object_array_get_idx(r, j);
			cell = display_cell(c);
			if (cell == NULL && c != NULL &&
			    !json_object_is_type(c, json_type_null))
				goto bad;	/* a cell that does not pass */
			json_object_array_add(row, cell);
		}
	}
	return a;
bad:
	json_object_put(a);
	return NULL;
}

/* A copy of the shape: [rows, columns], two integers >= 0, or NULL. */
static struct json_object *
display_shape(struct json_object *v)
{
	struct json_object	*r, *c;

	if (v == NULL || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != 2)
		return NULL;
	r = json_object_array_get_idx(v, 0);
	c = json_object_array_get_idx(v, 1);
	if (!json_object_is_type(r, json_type_int) ||
	    !json_object_is_type(c, json_type_int) ||
	    json_object_get_int64(r) < 0 || json_object_get_int64(c) < 0)
		return NULL;
	r = json_object_new_array();
	json_object_array_add(r, json_object_new_int64(
	    json_object_get_int64(json_object_array_get_idx(v, 0))));
	json_object_array_add(r, json_object_new_int64(
	    json_object_get_int64(json_object_array_get_idx(v, 1))));
	return r;
}

static struct json_object *
display_get(struct json_object *o, const char *key)
{
	struct json_object	*v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* A checked copy of a table, or NULL. */
static struct json_object *
display_table(struct json_object *v)
{
	struct json_object	*t, *cols, *types, *shape, *index, *rows, *cut;
	size_t			 ncols;

	if (!json_object_is_type(v, json_type_object))
		return NULL;
	cols = display_strings(display_get(v, "columns"), TABLE_COLS, TABLE_TEXT);
	ncols = cols != NULL ? json_object_array_length(cols) : 0;
	types = display_strings(display_get(v, "dtypes"), ncols, TABLE_TEXT);
	shape = display_shape(display_get(v, "shape"));
	index = display_strings(display_get(v, "index"), TABLE_ROWS, TABLE_TEXT);
	rows = display_rows(display_get(v, "rows"), ncols);
	cut = display_get(v, "cut");
	t = json_object_new_object();
	json_object_object_add(t, "columns", cols);
	json_object_object_add(t, "dtypes", types);
	json_object_object_add(t, "shape", shape);
	json_object_object_add(t, "index", index);
	json_object_object_add(t, "rows", rows);
	if (cols == NULL || types == NULL || shape == NULL || index == NULL ||
	    rows == NULL || json_object_array_length(types) != ncols ||
	    json_object_array_length(index) != json_object_array_length(rows) ||
	    (cut != NULL && !json_object_is_type(cut, json_type_boolean))) {
		json_object_put(t);
		return NULL;
	}
	json_object_object_add(t, "cut",
	    json_object_new_boolean(json_object_get_boolean(cut)));
	return t;
}

/* A checked copy of one item, or NULL. */
static struct json_object *
display_item(struct json_object *v)
{
	struct json_object	*it, *val, *from, *cut, *t = NULL, *tab;
	const char		*f;

	if (!json_object_is_type(v, json_type_object) ||
	    (val = display_string(display_get(v, "value"), DISPLAY_VALUE)) == NULL)
		return NULL;
	from = display_get(v, "from");
	f = from != NULL && json_object_is_type(from, json_type_string) ?
	    json_object_get_string(from) : "";
	cut = display_get(v, "cut");
	tab = display_get(v, "table");
	if ((strcmp(f, "out") != 0 && strcmp(f, "display") != 0) ||
	    (cut != NULL && !json_object_is_type(cut, json_type_boolean)) ||
	    (tab != NULL && (t = display_table(tab)) == NULL)) {
		json_object_put(val);
		return NULL;
	}
	it = json_object_new_object();
	json_object_object_add(it, "value", val);
	json_object_object_add(it, "from", json_object_new_string(f));
	json_object_object_add(it, "cut",
	    json_object_new_boolean(json_object_get_boolean(cut)));
	if (t != NULL)
		json_object_object_add(it, "table", t);
	return it;
}

/*
 * The report's "displays" (v, borrowed) checked: a new array of at most
 * DISPLAY_ITEMS items (the caller owns it), or NULL when v is not an
 * array or holds none that passes.
 */
struct json_object *
display_items(struct json_object *v)
{
	struct json_object	*a, *it;
	size_t			 i, n;

	if (v == NULL || !json_object_is_type(v, json_type_array))
		return NULL;
	n = json_object_array_length(v);
	a = json_object_new_array();
	for (i = 0; i < n && i < DISPLAY_ITEMS; i++)
		if ((it = display_item(json_object_array_get_idx(v, i))) != NULL)
			json_object_array_add(a, it);
	if (json_object_array_length(a) == 0) {
		json_object_put(a);
		return NULL;
	}
	return a;
}
