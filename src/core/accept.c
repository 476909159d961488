/*
 * accept.c - see accept.h.
 */
#include <string.h>

#include "accept.h"
#include "fields.h"

#define EQ(s, n, lit) fields_eq((s), (n), LIT(lit))

/* How specific a range is for each side: 0 when it does not match. */
enum {
	SPEC_NONE = 0,
	SPEC_ANY,		/* the full wildcard */
	SPEC_TYPE,		/* application/ or text/ wildcard */
	SPEC_NAMED,		/* text/html, application/json */
	SPEC_EXACT,		/* application/problem+json: what is sent */
};

struct accept_best {
	int json_q, json_spec;	/* q 0..1000 of the most specific match */
	int html_q, html_spec;
};

/*
 * RFC 9110 §12.4.2:
 *   qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 * Returns 0..1000, or -1 if s[0..n) is not one.
 */
static int
qvalue(const char *s, size_t n)
{
	int q, scale = 100;
	size_t i;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = s[0] == '1' ? 1000 : 0;
	if (n == 1)
		return q;
	if (s[1] != '.' || n > 5)
		return -1;
	for (i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9' || (q == 1000 && s[i] != '0'))
			return -1;
		q += (s[i] - '0') * scale;
	}
	return q;
}

/*
 * The parameters after a media range, s[0..n) (RFC 9110 §5.6.6:
 * *( OWS ";" OWS [ parameter ] )): sets *q from a weight. Returns 0, or -1
 * when they are malformed.
 */
static int
params(const char *s, size_t n, int *q)
{
	size_t i = 0, b;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			break;
		if (s[i++] != ';')
			return -1;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		for (b = i; i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'; i++)
			;
		if (i - b >= 2 && fields_lower((unsigned char)s[b]) == 'q' &&
		    s[b + 1] == '=') {
			if ((*q = qvalue(s + b + 2, i - b - 2)) < 0)
				return -1;
		} else if (i > b && memchr(s + b, '=', i - b) == NULL) {
			return -1;	/* parameter = name "=" value */
		}
	}
	return 0;
}

static void
keep_best(int *best_q, int *best_spec, int q, int spec)
{
	if (spec > *best_spec || (spec == *best_spec && spec != SPEC_NONE &&
	    q > *best_q)) {
		*best_spec = spec;
		*best_q = q;
	}
}

/* One element of the list: media-range parameters (RFC 9110 §12.5.1). */
static int
accept_element(void *arg, const char *s, size_t n)
{
	struct accept_best *a = arg;
	size_t t;
	int q = 1000, json, html;

	for (t = 0; t < n && s[t] != ';' && s[t] != ' ' && s[t] != '\t'; t++)
		;
	if (params(s + t, n - t, &q) != 0)
		return 0;
	if (EQ(s, t, "application/problem+json"))
		json = SPEC_EXACT;
	else if (EQ(s, t, "application/json"))
		json = SPEC_NAMED;
	else if (EQ(s, t, "application/*"))
		json = SPEC_TYPE;
	else if (EQ(s, t, "*/*"))
		json = SPEC_ANY;
	else
		json = SPEC_NONE;
	if (EQ(s, t, "text/html"))
		html = SPEC_NAMED;
	else if (EQ(s, t, "text/*"))
		html = SPEC_TYPE;
	else if (EQ(s, t, "*/*"))
		html = SPEC_ANY;
	else
		html = SPEC_NONE;
	keep_best(&a->json_q, &a->json_spec, q, json);
	keep_best(&a->html_q, &a->html_spec, q, html);
	return 0;
}

int
accept_prefers_json(const char *value, size_t len)
{
	struct accept_best a = { 0, SPEC_NONE, 0, SPEC_NONE };
	int json_named;

	if (len == 0)
		return 0;
	fields_list(value, len, accept_element, &a);
	if (a.json_spec == SPEC_NONE || a.json_q == 0)
		return 0;
	if (a.json_q != a.html_q)
		return a.json_q > a.html_q;
	/* the same weight: the more specific side, HTML on a tie */
	json_named = a.json_spec >= SPEC_NAMED ? SPEC_NAMED : a.json_spec;
	return json_named > a.html_spec;
}
