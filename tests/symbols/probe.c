/*
 * probe.c - a test-only shared library over the core, pages, conf and
 * llhttp, as an LD_PRELOAD front end would be built. It exports one
 * function, which reaches into every module so that the linker pulls their
 * objects in; check_symbols.py then asserts that nothing else is exported.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accept.h"
#include "chunked.h"
#include "conf.h"
#include "fields.h"
#include "framing.h"
#include "httpdate.h"
#include "pages.h"
#include "reason.h"
#include "response.h"

int lg_probe(void) __attribute__((visibility("default")));

int
lg_probe(void)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct framing_policy pol;
	struct framing *f;
	struct response *r;
	char date[HTTPDATE_LEN + 1];
	uint64_t size;
	struct chunked ck;
	struct chunked_limits lim = { 16 };
	int n = 0;

	framing_policy_default(&pol);
	if ((f = framing_new(&pol)) != NULL) {
		n += framing_feed(f, req, sizeof(req) - 1).verdict == FRAMING_HEAD;
		framing_free(f);
	}
	if ((r = response_new(1024)) != NULL) {
		response_begin(r, 0, 1, NULL, NULL);
		response_free(r);
	}
	n += accept_prefers_json("application/json", LITLEN("application/json"));
	n += fields_lookup("te", 2) == FIELD_TE;
	n += reason_status(REASON_CHUNKED) == 411;
	httpdate_format(0, date);
	n += strlen(pages_reason_phrase(411)) > 0;
	n += conf_parse_size("1k", &size) == 0;
	chunked_init(&ck, &lim);
	n += chunked_feed(&ck, LIT("0\r\n\r\n"), NULL, NULL).verdict ==
	    CHUNKED_DONE;
	return n;
}
