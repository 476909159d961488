/*
 * httpdate.c - IMF-fixdate (RFC 9110 §5.6.7) without locale or strftime.
 */
#include <string.h>
#include <time.h>

#include "httpdate.h"

static void
two(char *o, int v)
{
	o[0] = (char)('0' + v / 10 % 10);
	o[1] = (char)('0' + v % 10);
}

void
httpdate_format(time_t t, char out[HTTPDATE_LEN + 1])
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;

	gmtime_r(&t, &tm);
	memcpy(out, days + 3 * tm.tm_wday, 3);
	out[3] = ',';
	out[4] = ' ';
	two(out + 5, tm.tm_mday);
	out[7] = ' ';
	memcpy(out + 8, months + 3 * tm.tm_mon, 3);
	out[11] = ' ';
	two(out + 12, (tm.tm_year + 1900) / 100);
	two(out + 14, (tm.tm_year + 1900) % 100);
	out[16] = ' ';
	two(out + 17, tm.tm_hour);
	out[19] = ':';
	two(out + 20, tm.tm_min);
	out[22] = ':';
	two(out + 23, tm.tm_sec);
	memcpy(out + 25, " GMT", sizeof(" GMT"));	/* the NUL too */
}

const char *
httpdate_line(struct httpdate *d, time_t now)
{
	if (d->line[0] == '\0' || d->when != now) {
		memcpy(d->line, LIT("Date: "));
		httpdate_format(now, d->line + LITLEN("Date: "));
		memcpy(d->line + LITLEN("Date: ") + HTTPDATE_LEN, "\r\n",
		    sizeof("\r\n"));	/* the NUL too */
		d->when = now;
	}
	return d->line;
}
