/*
 * tools.c: pyexec's tools, defined once: the MCP server's tools/list
 * (mcp.c) and GET /v1/tools's function-calling definitions (OpenAI's
 * `tools` and Anthropic's `input_schema`) are made from this table, so
 * the three can never disagree.  Each tool is a native request made on
 * the caller's behalf (mcp.c), with the same checks, limits and walls.
 */
#include "config.h"

#include <string.h>

#include "serve.h"

#define SESSION_ID_SCHEMA \
	"{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9._-]{1,64}$\"," \
	"\"description\":\"A live session's name (create_session gives one)\"}"
#define TIMEOUT_SCHEMA \
	"{\"type\":\"number\",\"minimum\":0.1,\"description\":\"Seconds the " \
	"code may run (default 5; clamped to the service's maximum)\"}"
#define PATH_SCHEMA \
	"{\"type\":\"string\",\"minLength\":1,\"maxLength\":1024," \
	"\"description\":\"A path relative to the workspace (no '..')\"}"
/* The execution item (docs/api.md), as structuredContent. */
#define EXECUTION_SCHEMA \
	"{\"type\":\"object\",\"properties\":{" \
	"\"outcome\":{\"type\":\"string\"}," \
	"\"exit_code\":{\"type\":[\"integer\",\"null\"]}," \
	"\"stdout\":{\"type\":\"string\"},\"stderr\":{\"type\":\"string\"}," \
	"\"value\":{\"type\":[\"string\",\"null\"]}," \
	"\"duration_ms\":{\"type\":\"number\"}}," \
	"\"required\":[\"outcome\",\"stdout\",\"stderr\"]}"
#define SESSION_SCHEMA \
	"{\"type\":\"object\",\"properties\":{" \
	"\"session_id\":{\"type\":\"string\"},\"state\":{\"type\":\"string\"}," \
	"\"expires_at\":{\"type\":\"string\"},\"calls\":{\"type\":\"integer\"}}," \
	"\"required\":[\"session_id\",\"state\"]}"

static const struct tool tools[] = {
	{ "run_python",
	  "Run Python 3 code in a fresh sandbox (numpy, pandas and matplotlib "
	  "are there; no network) and get its stdout, stderr, outcome and the "
	  "value of its last expression; figures come back as images. With "
	  "session_id the code runs in that live session instead: names it "
	  "defined in earlier calls are still there.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"code\":{\"type\":\"string\",\"description\":\"The Python program\"},"
	  "\"timeout\":" TIMEOUT_SCHEMA ","
	  "\"session_id\":" SESSION_ID_SCHEMA "},"
	  "\"required\":[\"code\"],\"additionalProperties\":false}",
	  EXECUTION_SCHEMA },
	{ "create_session",
	  "Start a live Python session: an interpreter that keeps its "
	  "variables, functions and imports between calls (like a notebook "
	  "kernel), with a workspace of files. Ends after idle_timeout "
	  "seconds unused.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"session_id\":" SESSION_ID_SCHEMA ","
	  "\"memory_limit\":{\"type\":\"string\",\"description\":\"Like "
	  "\\\"512MB\\\"\"},"
	  "\"cpu_limit\":{\"type\":\"number\",\"description\":\"Cores\"},"
	  "\"idle_timeout\":{\"type\":\"integer\",\"description\":\"Seconds\"}},"
	  "\"additionalProperties\":false}",
	  SESSION_SCHEMA },
	{ "run_in_session",
	  "Run Python code in a live session (create_session): what earlier "
	  "calls defined is there, and what this one defines stays. Returns "
	  "stdout, stderr, the outcome and the value of the last expression.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"session_id\":" SESSION_ID_SCHEMA ","
	  "\"code\":{\"type\":\"string\"},"
	  "\"timeout\":" TIMEOUT_SCHEMA "},"
	  "\"required\":[\"session_id\",\"code\"],\"additionalProperties\":false}",
	  EXECUTION_SCHEMA },
	{ "fork_session",
	  "Copy a live session (every variable and its workspace files) into "
	  "a new one, to try another path from the same point.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"session_id\":" SESSION_ID_SCHEMA ","
	  "\"new_session_id\":" SESSION_ID_SCHEMA "},"
	  "\"required\":[\"session_id\"],\"additionalProperties\":false}",
	  SESSION_SCHEMA },
	{ "delete_session",
	  "End a live session; its workspace files go too unless keep_files.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"session_id\":" SESSION_ID_SCHEMA ","
	  "\"keep_files\":{\"type\":\"boolean\"}},"
	  "\"required\":[\"session_id\"],\"additionalProperties\":false}",
	  NULL },
	{ "list_files",
	  "List the files of a session's workspace (paths and sizes).",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"session_id\":" SESSION_ID_SCHEMA "},"
	  "\"required\":[\"session_id\"],\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"files\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\",\"properties\":{"
	  "\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"}},"
	  "\"required\":[\"path\",\"size\"]}}},\"required\":[\"files\"]}" },
	{ "read_file",
	  "Read a file of a session's workspace, as text (UTF-8) or base64.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"session_id\":" SESSION_ID_SCHEMA ","
	  "\"path\":" PATH_SCHEMA ","
	  "\"encoding\":{\"type\":\"string\",\"enum\":[\"text\",\"base64\"]}},"
	  "\"required\":[\"session_id\",\"path\"],\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	  "\"encoding\":{\"type\":\"string\"},\"content\":{\"type\":\"string\"},"
	  "\"size\":{\"type\":\"integer\"}},"
	  "\"required\":[\"path\",\"encoding\",\"content\",\"size\"]}" },
	{ "write_file",
	  "Write a file into a session's workspace (its directories are "
	  "made), from text or base64; the code of the session sees it at "
	  "once.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"session_id\":" SESSION_ID_SCHEMA ","
	  "\"path\":" PATH_SCHEMA ","
	  "\"content\":{\"type\":\"string\"},"
	  "\"encoding\":{\"type\":\"string\",\"enum\":[\"text\",\"base64\"]}},"
	  "\"required\":[\"session_id\",\"path\",\"content\"],"
	  "\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	  "\"size\":{\"type\":\"integer\"}},\"required\":[\"path\",\"size\"]}" },
};

#define NTOOLS	(sizeof(tools) / sizeof(tools[0]))

const struct tool *
tool_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NTOOLS; i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

/* The tools in one of the shapes; the caller owns the array. */
struct json_object *
tools_json(enum tool_shape shape)
{
	static const char *const schema_key[] = { [TOOLS_MCP] = "inputSchema",
	    [TOOLS_OPENAI] = "parameters", [TOOLS_ANTHROPIC] = "input_schema" };
	struct json_object	*a = json_object_new_array(), *d, *t;
	size_t			 i;

	for (i = 0; i < NTOOLS; i++) {
		d = json_object_new_object();	/* the definition */
		json_object_object_add(d, "name",
		    json_object_new_string(tools[i].name));
		json_object_object_add(d, "description",
		    json_object_new_string(tools[i].description));
		json_object_object_add(d, schema_key[shape],
		    json_tokener_parse(tools[i].input_schema));
		if (shape == TOOLS_MCP && tools[i].output_schema != NULL)
			json_object_object_add(d, "outputSchema",
			    json_tokener_parse(tools[i].output_schema));
		t = d;
		if (shape == TOOLS_OPENAI) {	/* {type, function: d} */
			t = json_object_new_object();
			json_object_object_add(t, "type",
			    json_object_new_string("function"));
			json_object_object_add(t, "function", d);
		}
		json_object_array_add(a, t);
	}
	return a;
}
