/*
 * httpdate.h - the HTTP Date header (RFC 9110 §5.6.7, IMF-fixdate), formatted
 * at most once a second per cache.
 */
#ifndef LG_HTTPDATE_H
#define LG_HTTPDATE_H

#include <time.h>

#include "lit.h"

#define HTTPDATE_LEN LITLEN("Sun, 06 Nov 1994 08:49:37 GMT")

/* Format t as IMF-fixdate into out (HTTPDATE_LEN bytes + NUL). */
void httpdate_format(time_t t, char out[HTTPDATE_LEN + 1]);

/*
 * A "Date: ...\r\n" line, refreshed when the second changes. One cache per
 * thread (a worker owns its cache; nothing here is shared).
 */
#define HTTPDATE_LINE_LEN	(LITLEN("Date: ") + HTTPDATE_LEN + LITLEN("\r\n"))
struct httpdate {
	time_t	when;
	char	line[HTTPDATE_LINE_LEN + 1];
};

/* Return the cached line for `now`, reformatting it if the second moved. */
const char *httpdate_line(struct httpdate *, time_t now);

#endif /* LG_HTTPDATE_H */
