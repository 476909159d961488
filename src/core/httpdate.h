/*
 * httpdate.h - the HTTP Date header (RFC 9110 §5.6.7, IMF-fixdate), formatted
 * at most once a second per cache.
 */
#ifndef LG_HTTPDATE_H
#define LG_HTTPDATE_H

#include <time.h>

#define HTTPDATE_LEN 29		/* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Format t as IMF-fixdate into out (HTTPDATE_LEN bytes + NUL). */
void httpdate_format(time_t t, char out[HTTPDATE_LEN + 1]);

/*
 * A "Date: ...\r\n" line, refreshed when the second changes. One cache per
 * thread (a worker owns its cache; nothing here is shared).
 */
struct httpdate {
	time_t	when;
	char	line[6 + HTTPDATE_LEN + 2 + 1];	/* "Date: " ... "\r\n" NUL */
};
#define HTTPDATE_LINE_LEN (6 + HTTPDATE_LEN + 2)

/* Return the cached line for `now`, reformatting it if the second moved. */
const char *httpdate_line(struct httpdate *, time_t now);

#endif /* LG_HTTPDATE_H */
