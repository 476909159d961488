/*
 * test_httpdate.c - IMF-fixdate formatting (RFC 9110 §5.6.7) and the
 * once-a-second Date line cache.
 */
#include <string.h>
#include <time.h>

#include "../check.h"
#include "httpdate.h"

int
main(void)
{
	static const struct {
		time_t t;
		const char *want;
	} rows[] = {
		{ 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },	/* RFC example */
		{ 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
		{ 1798761599, "Thu, 31 Dec 2026 23:59:59 GMT" },
		{ 4102444800, "Fri, 01 Jan 2100 00:00:00 GMT" },
	};
	struct httpdate d;
	char out[HTTPDATE_LEN + 1];
	const char *line, *again;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		httpdate_format(rows[i].t, out);
		CHECK(strcmp(out, rows[i].want) == 0, "%lld: got %s, want %s",
		    (long long)rows[i].t, out, rows[i].want);
	}
	memset(&d, 0, sizeof(d));
	line = httpdate_line(&d, 784111777);
	CHECK(strlen(line) == HTTPDATE_LINE_LEN &&
	    strcmp(line, "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n") == 0,
	    "Date line: %s", line);
	/* the same second: the cached line, not a new one */
	d.line[6] = 'X';
	again = httpdate_line(&d, 784111777);
	CHECK(again == line && again[6] == 'X', "cached within the second");
	again = httpdate_line(&d, 784111778);
	CHECK(strcmp(again, "Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n") == 0,
	    "refreshed on the next second: %s", again);
	return check_done("test_httpdate");
}
