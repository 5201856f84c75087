/*
 * libFuzzer target: the request parser and the UTF-8 sanitizer, the code
 * that reads untrusted bytes.  Built and run by tests/fuzz/run under
 * AddressSanitizer and UndefinedBehaviorSanitizer.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyexec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pyexec_config cfg = {
		.default_timeout = 5, .max_timeout = 30,
		.default_memory_mb = 100, .max_memory_mb = 500, .max_cpu = 2,
	};
	struct exec_request	 r;
	char			 msg[512], *clean;
	size_t			 n;

	if (request_parse_execute((const char *)data, size, &cfg, &r, msg,
	    sizeof(msg)) == PYEXEC_OK) {
		/* A valid request is valid UTF-8 without NUL in the code. */
		if (!envelope_utf8_valid(r.code, r.code_len) ||
		    strlen(r.code) != r.code_len || r.timeout < 0.1 ||
		    r.timeout > 30 || r.memory_bytes > (500ULL << 20))
			abort();
	}
	request_free(&r);
	if ((clean = envelope_utf8_sanitize((const char *)data, size, &n)) != NULL) {
		if (!envelope_utf8_valid(clean, n))
			abort();
		free(clean);
	}
	return 0;
}
