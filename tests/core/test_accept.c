/*
 * test_accept.c - content negotiation for lengthguard's own pages
 * (src/core/accept.c): one row per Accept value, with the page it must get.
 */
#include <string.h>

#include "../check.h"
#include "accept.h"
#include "lit.h"

static const struct {
	const char *accept;
	int json;
} rows[] = {
	/* nothing usable: HTML */
	{ "", 0 },
	{ "text/html", 0 },
	{ "*/*", 0 },
	{ "image/png", 0 },
	{ "text/plain", 0 },

	/* JSON by name */
	{ "application/json", 1 },
	{ "application/problem+json", 1 },
	{ "APPLICATION/JSON", 1 },
	{ "Application/Problem+JSON", 1 },
	{ "application/json;charset=utf-8", 1 },
	{ "application/*", 1 },

	/* both named with the same weight: HTML, in either order */
	{ "text/html, application/json", 0 },
	{ "application/json, text/html", 0 },
	{ "application/problem+json, text/html", 0 },
	{ "text/*, application/*", 0 },

	/* q-values (RFC 9110 §12.4.2) */
	{ "application/json, text/html;q=0.9", 1 },
	{ "text/html;q=0.5, application/json", 1 },
	{ "application/json;q=0.5", 1 },		/* HTML not acceptable */
	{ "application/json;q=0.001", 1 },
	{ "application/json;q=0", 0 },
	{ "application/json;q=0.000", 0 },
	{ "application/json;q=0.5, text/html;q=0.50", 0 },
	{ "application/json;q=0.501, text/html;q=0.5", 1 },
	{ "application/json;q=1.000, text/html;q=0.999", 1 },
	{ "application/problem+json;q=0.8, text/html;q=0.9", 0 },
	{ "application/problem+json;q=0.9, text/html;q=0.8", 1 },
	{ "application/json; q=0.7, text/html; q=0.6", 1 },
	{ "application/json ; q=0.7 , text/html;q=0.6", 1 },
	{ "application/json;Q=0.7, text/html;q=0.6", 1 },
	{ "text/html;level=1;q=0.2, application/json;q=0.1", 0 },
	{ "application/json;charset=utf-8;q=0.1, text/html;q=0.05", 1 },
	{ "application/json;q=0.2, application/json;q=0.9, text/html;q=0.5", 1 },

	/* the most specific range decides (RFC 9110 §12.5.1) */
	{ "application/json;q=0, */*", 0 },
	{ "application/json, */*;q=0.8", 1 },
	{ "text/html;q=0, */*", 1 },
	{ "*/*;q=0, application/json", 1 },
	{ "*/*;q=0.1, application/json;q=0.1", 1 },	/* named beats a wildcard */
	{ "application/*, */*", 1 },
	{ "text/*;q=0.3, application/*;q=0.3", 0 },
	{ "application/*;q=0.9, text/*;q=0.8, text/html;q=0.95", 0 },
	/* what is sent is problem+json: refusing it wins over application/json */
	{ "application/problem+json;q=0, application/json", 0 },
	{ "application/json;q=0, application/problem+json", 1 },

	/* malformed elements are ignored, the others still count */
	{ "json", 0 },
	{ "application", 0 },
	{ ";q=1", 0 },
	{ ",,,", 0 },
	{ "*/json", 0 },
	{ "application/json x", 0 },
	{ "application/json;q=.5", 0 },
	{ "application/json;q=0.5000", 0 },
	{ "application/json;q=1.001", 0 },
	{ "application/json;q=2", 0 },
	{ "application/json;q=", 0 },
	{ "application/json;q=0.7x", 0 },
	{ "application/json;q=\"0.5\"", 0 },
	{ "application/json;foo", 0 },
	{ "application/json;;q=0.1, text/html;q=0.05", 1 },	/* empty parameter */
	{ "application/json;q=abc, text/html;q=0.1", 0 },
	{ "text/html;q=bad, application/json;q=0.1", 1 },
	{ "\x01\xff/\x80, application/json", 1 },
	{ " , application/json ,", 1 },
};

int
main(void)
{
	size_t i, k;
	char buf[512];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n = strlen(rows[i].accept);

		/* what follows the value must never be read: it would turn
		 * every HTML row into a JSON one */
		memcpy(buf, rows[i].accept, n);
		for (k = n; k < sizeof(buf) - 1; k++)
			buf[k] = ",application/json"[(k - n) % LITLEN(",application/json")];
		buf[k] = '\0';
		CHECK(accept_prefers_json(buf, n) == rows[i].json,
		    "Accept: %s -> %s", rows[i].accept, rows[i].json ? "JSON" : "HTML");
	}
	CHECK(accept_prefers_json(NULL, 0) == 0, "no Accept: HTML");
	/* a value cut short is only what it says */
	CHECK(accept_prefers_json("application/json", 11) == 0,
	    "a prefix of application/json");
	printf("accept rows: %zu\n", sizeof(rows) / sizeof(rows[0]));
	return check_done("test_accept");
}
