/*
 * request.h (core): the field tables of every route and the request they
 * validate (request.c).  Included by core.h.
 */
#ifndef PYEXEC_REQUEST_H
#define PYEXEC_REQUEST_H

#include "base.h"

/*
 * request.c: validation of request bodies by table, as kcgi validates its
 * form fields.  Every route has a table (struct field_table): its fields,
 * whether unknown ones are refused, and the run it asks for.  The parser
 * fills a struct exec_request, or says what failed in a struct
 * field_error that each dialect (native, FastAPI, Flask, NVIDIA, IBM)
 * words its own way.
 */
enum field_type {
	FT_STRING,		/* a JSON string, valid UTF-8 */
	FT_NUMBER,		/* a JSON number (not a boolean) in [lo, hi] */
	FT_INT,			/* a JSON integer in [lo, hi] */
	FT_BOOL,
	FT_MEMORY,		/* MB as an integer, or "100m", "1g" */
	FT_WORD,		/* a string, one of the words in `words` */
	FT_FILES,		/* [{"name", "content" (base64)}], capped */
};

enum field_slot {		/* which member of struct exec_request */
	FS_CODE, FS_STDIN, FS_QUERY, FS_TIMEOUT, FS_MEMORY, FS_CPU,
	FS_VALIDATE, FS_MODE, FS_ATTEMPTS, FS_FILES, FS_ARTIFACTS, FS_SESSION,
	FS_IDLE, FS_NONE,
};

/* Which requests of a route run in a workspace (workspace.c). */
enum ws_policy {
	WS_NEVER = 0,		/* seeds 000, 001, 002, 004: never */
	WS_OPT_IN,		/* native: when the request names a session */
	WS_ALWAYS,		/* seed 003: its session, or "default" */
};

enum field_bound {		/* the configured bound hi is capped at */
	FB_NONE, FB_MAX_TIMEOUT, FB_MAX_CPU, FB_MAX_MEMORY, FB_MAX_QUERY,
	FB_MAX_INPUT, FB_MAX_IDLE,
};

#define FF_REQUIRED	0x01
#define FF_NONEMPTY	0x02
#define FF_NONUL	0x04	/* no NUL character */
#define FF_NOCTRL	0x08	/* no control character but \t \n \r */
#define FF_NULL_ABSENT	0x10	/* null counts as not given */
#define FF_WORD_CI	0x20	/* FT_WORD: compared ignoring case */
#define FF_CLAMP	0x40	/* FT_NUMBER: a finite number out of [lo, hi]
				 * is taken as the nearest bound (the seed
				 * had no cap), not refused */

struct field {
	const char	*name;
	enum field_type	 type;
	unsigned	 flags;		/* FF_* */
	enum field_slot	 slot;
	double		 lo, hi;	/* numbers; strings: hi characters */
	enum field_bound bound;		/* hi is also capped by this */
	const char	*words;		/* FT_WORD: "a|b" */
};

struct field_table {
	const struct field	*fields;	/* ends with a NULL name */
	bool			 strict;	/* unknown, duplicate fields refused */
	double			 timeout;	/* the run's default, s, capped by
						 * the table's own bound; 0: the
						 * configured default */
	enum run_mode		 mode;
	bool			 unwrap;	/* runner unwraps dict/fenced code */
	bool			 policy;	/* the IBM AST policy */
	bool			 show;		/* runner reports str(result) */
	bool			 display;	/* a notebook cell (native): the
						 * last expression's value, tables */
	bool			 artifacts;	/* figures and files come back */
	enum ws_policy		 ws;		/* whether it runs in a workspace */
};

enum field_kind {
	FK_NONE = 0,
	FK_BODY,	/* not one JSON document (NUL, UTF-8, syntax, depth) */
	FK_NOT_OBJECT,	/* JSON, but not an object */
	FK_DUPLICATE,
	FK_UNKNOWN,
	FK_MISSING,
	FK_TYPE,
	FK_EMPTY,
	FK_NUL,
	FK_UTF8,
	FK_CONTROL,
	FK_TOO_LONG,
	FK_RANGE,
	FK_WORD,	/* not one of the words */
	FK_NAME,	/* files[i].name: not a file name */
	FK_BASE64,	/* files[i].content: not strict base64 */
	FK_CAP,		/* files: past a cap (count, bytes each, in all) */
	FK_NOMEM,
};

/* What failed: the field (NULL: the body), the bounds that applied, the
 * value given (FK_WORD, as JSON text, cut) and pyexec's own words. */
struct field_error {
	enum field_kind		 kind;
	const struct field	*f;
	char			 name[72];	/* the field, also unknown ones */
	double			 lo, hi;
	char			 value[72];
	char			 text[400];	/* "must be ..." (no field name) */
};

/* A validated request.  Owns its strings. */
struct exec_request {
	char		*code;		/* owned, NUL-terminated */
	size_t		 code_len;
	char		*stdin_data;	/* owned, may be NULL */
	size_t		 stdin_len;
	char		*query;		/* owned: a task in plain words */
	size_t		 query_len;
	double		 timeout;	/* seconds */
	bool		 timeout_clamped;	/* FF_CLAMP moved it into range */
	double		 timeout_asked;	/* and what was asked */
	uint64_t	 memory_bytes;
	double		 cpu_limit;	/* cores */
	bool		 validate_code;	/* review by the LLM first */
	unsigned	 max_attempts;	/* generate: 1..3 */
	enum run_mode	 mode;		/* the table's, or the "mode" field */
	bool		 unwrap, policy, show, display;	/* the table's */
	bool		 artifacts;		/* the table's: native routes */
	struct run_file	*files;		/* owned: the input files, or NULL */
	unsigned	 nfiles;
	size_t		 files_bytes;	/* their decoded bytes in all */
	enum ws_policy	 ws;		/* the table's */
	char		 session[WS_NAME_MAX + 1];	/* "session_id", or "" */
	unsigned	 idle_s;	/* a live session's "idle_timeout", or 0 */
};

extern const struct field_table request_execute, request_generate,
		    request_seed004, request_seed002, request_seed003,
		    request_seed001_execute, request_seed001_generate,
		    request_seed000_execute, request_seed000_generate,
		    request_workspace, request_session_create,
		    request_session_fork;

enum pyexec_err	 request_parse(const struct field_table *, const char *,
		    size_t, const struct pyexec_config *, struct exec_request *,
		    struct field_error *);
void		 request_native_text(const struct field_error *, char *, size_t);
struct json_object *request_table_json(const struct field_table *,
		    const struct pyexec_config *);
enum pyexec_err	 request_parse_execute(const char *, size_t,
		    const struct pyexec_config *, struct exec_request *,
		    char *, size_t);
enum pyexec_err	 request_parse_generate(const char *, size_t,
		    const struct pyexec_config *, struct exec_request *,
		    char *, size_t);
void		 request_free(struct exec_request *);
enum pyexec_err	 request_parse_memory(struct json_object *, uint64_t *);
struct json_object *request_json(const char *, size_t, char *, size_t);
const char	*request_file_name_bad(const char *, size_t, char *buf,
		    size_t buflen);

#endif /* PYEXEC_REQUEST_H */
