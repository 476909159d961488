/*
 * test_reason.c - the table of refusal reasons (src/core/reason.c): every
 * enum value has a row, labels are unique snake_case, texts are unique,
 * statuses are in range and agree with the class.
 */
#include <string.h>

#include "../check.h"
#include "reason.h"

static int
snake_case(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '_')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '_' && s[i + 1] == '_')
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_'))
			return 0;
	}
	return 1;
}

/* The class a status belongs to, when the status alone decides it. */
static int
class_of_status(int status, enum reason_class c)
{
	switch (status) {
	case 411: case 417: case 501: case 505:
		return c == REASON_CLASS_POLICY;
	case 413: case 414: case 431:
		return c == REASON_CLASS_LIMIT;
	case 408: case 504:
		return c == REASON_CLASS_TIMEOUT;
	case 502:
		return c == REASON_CLASS_UPSTREAM;
	case 499:
		return c == REASON_CLASS_CLIENT_ABORT;
	case 500:	/* a local resource ran out: a body's temporary file */
		return c == REASON_CLASS_LIMIT;
	case 400:
		return c == REASON_CLASS_MALFORMED || c == REASON_CLASS_AMBIGUOUS ||
		    c == REASON_CLASS_CLIENT_ABORT;
	default:
		return 0;
	}
}

static void
test_rows(void)
{
	unsigned r, q;

	CHECK(reason_status(REASON_NONE) == 0 &&
	    strcmp(reason_text(REASON_NONE), "") == 0 &&
	    strcmp(reason_label(REASON_NONE), "none") == 0 &&
	    reason_class(REASON_NONE) == REASON_CLASS_NONE, "NONE row");
	for (r = REASON_NONE + 1; r < REASON_COUNT; r++) {
		const char *label = reason_label((enum reason)r);
		const char *text = reason_text((enum reason)r);
		int status = reason_status((enum reason)r);
		enum reason_class c = reason_class((enum reason)r);

		/* a value with no row gets NONE's */
		CHECK(strcmp(label, "none") != 0 && text[0] != '\0',
		    "reason %u has a row", r);
		CHECK(snake_case(label), "reason %u: label %s is snake_case", r, label);
		CHECK(status >= 400 && status <= 599, "%s: status %d in range",
		    label, status);
		CHECK(c > REASON_CLASS_NONE && c < REASON_CLASS_COUNT,
		    "%s: a class", label);
		CHECK(class_of_status(status, c), "%s: status %d fits class %s",
		    label, status, reason_class_label(c));
		CHECK(strchr(text, '\n') == NULL && strchr(text, '"') == NULL &&
		    strlen(text) < 64, "%s: text fits a log line", label);
		for (q = REASON_NONE; q < r; q++) {
			CHECK(strcmp(reason_label((enum reason)q), label) != 0,
			    "%s: label unique", label);
			CHECK(strcmp(reason_text((enum reason)q), text) != 0,
			    "%s: text unique", label);
		}
	}
	/* outside the enum: NONE's row, never NULL */
	CHECK(reason_status(REASON_COUNT) == 0 &&
	    strcmp(reason_label(REASON_COUNT), "none") == 0 &&
	    strcmp(reason_text((enum reason)-1), "") == 0, "out of range");
}

static void
test_classes(void)
{
	unsigned c, d;

	CHECK(strcmp(reason_class_label(REASON_CLASS_NONE), "none") == 0,
	    "class NONE label");
	for (c = REASON_CLASS_NONE + 1; c < REASON_CLASS_COUNT; c++) {
		const char *l = reason_class_label((enum reason_class)c);

		CHECK(snake_case(l) && strcmp(l, "none") != 0, "class %u: label %s", c, l);
		for (d = REASON_CLASS_NONE; d < c; d++)
			CHECK(strcmp(reason_class_label((enum reason_class)d), l) != 0,
			    "class %s: unique", l);
	}
	CHECK(strcmp(reason_class_label(REASON_CLASS_COUNT), "none") == 0,
	    "class out of range");
}

/* The reasons a front end produces itself: status and label are a contract. */
static void
test_front_end(void)
{
	static const struct {
		enum reason r;
		int status;
		const char *label;
		enum reason_class c;
	} rows[] = {
		{ REASON_UPSTREAM_CONNECT_FAILED, 502, "upstream_connect_failed",
		    REASON_CLASS_UPSTREAM },
		{ REASON_UPSTREAM_CONNECT_TIMEOUT, 504, "upstream_connect_timeout",
		    REASON_CLASS_TIMEOUT },
		{ REASON_UPSTREAM_RESPONSE_TIMEOUT, 504, "upstream_response_timeout",
		    REASON_CLASS_TIMEOUT },
		{ REASON_UPSTREAM_CLOSED_EARLY, 502, "upstream_closed_early",
		    REASON_CLASS_UPSTREAM },
		{ REASON_UPSTREAM_CONNECTION_ERROR, 502, "upstream_connection_error",
		    REASON_CLASS_UPSTREAM },
		{ REASON_UPSTREAM_INVALID_RESPONSE, 502, "upstream_invalid_response",
		    REASON_CLASS_UPSTREAM },
		{ REASON_UPSTREAM_HEAD_TOO_LARGE, 502, "upstream_head_too_large",
		    REASON_CLASS_UPSTREAM },
		{ REASON_UPSTREAM_UNREACHABLE, 502, "upstream_unreachable",
		    REASON_CLASS_UPSTREAM },
		{ REASON_CLIENT_HEAD_TIMEOUT, 408, "client_head_timeout",
		    REASON_CLASS_TIMEOUT },
		{ REASON_CLIENT_BODY_TIMEOUT, 408, "client_body_timeout",
		    REASON_CLASS_TIMEOUT },
		{ REASON_CLIENT_CLOSED, 499, "client_closed", REASON_CLASS_CLIENT_ABORT },
		/* and the smuggling shapes that must never share a label */
		{ REASON_CL_TE, 400, "content_length_with_transfer_encoding",
		    REASON_CLASS_AMBIGUOUS },
		{ REASON_CL_DUPLICATE, 400, "duplicate_content_length",
		    REASON_CLASS_AMBIGUOUS },
		{ REASON_TE_DUPLICATE, 400, "duplicate_transfer_encoding",
		    REASON_CLASS_AMBIGUOUS },
		{ REASON_OBS_FOLD, 400, "obs_fold", REASON_CLASS_AMBIGUOUS },
		{ REASON_BARE_LF, 400, "bare_lf", REASON_CLASS_AMBIGUOUS },
		{ REASON_FIELD_NAME_ALIAS, 400, "field_name_alias",
		    REASON_CLASS_AMBIGUOUS },
		{ REASON_FIELD_NAME_UNDERSCORE, 400, "field_name_underscore",
		    REASON_CLASS_AMBIGUOUS },
		{ REASON_BODY_UNEXPECTED, 400, "unexpected_body",
		    REASON_CLASS_AMBIGUOUS },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(reason_status(rows[i].r) == rows[i].status &&
		    strcmp(reason_label(rows[i].r), rows[i].label) == 0 &&
		    reason_class(rows[i].r) == rows[i].c, "front end: %s", rows[i].label);
}

/* Desync classes (docs/classes.md): labels, and the rows they rest on. */
static void
test_desync(void)
{
	static const struct {
		enum reason r;
		enum desync_class d;
	} rows[] = {
		{ REASON_NONE, DESYNC_COMPLIANT },
		{ REASON_CHUNKED, DESYNC_COMPLIANT },
		{ REASON_BODY_TOO_LARGE, DESYNC_COMPLIANT },
		{ REASON_LINE_TOO_LONG, DESYNC_COMPLIANT },
		{ REASON_HTTP09, DESYNC_ACCEPTABLE },
		{ REASON_FIELD_NAME_UNDERSCORE, DESYNC_ACCEPTABLE },
		{ REASON_OBS_FOLD, DESYNC_AMBIGUOUS },
		{ REASON_BARE_LF, DESYNC_AMBIGUOUS },
		{ REASON_BODY_UNEXPECTED, DESYNC_AMBIGUOUS },
		{ REASON_TE_HTTP10, DESYNC_AMBIGUOUS },
		{ REASON_CL_TE, DESYNC_SEVERE },
		{ REASON_CL_DUPLICATE, DESYNC_SEVERE },
		{ REASON_TE_DUPLICATE, DESYNC_SEVERE },
		{ REASON_FIELD_NAME_ALIAS, DESYNC_SEVERE },
		{ REASON_SPACE_AFTER_NAME, DESYNC_SEVERE },
		{ REASON_CHUNK_DATA_END, DESYNC_SEVERE },
	};
	static const char *const labels[DESYNC_COUNT] = {
		"compliant", "acceptable", "ambiguous", "severe",
	};
	unsigned r;
	size_t i;

	for (i = 0; i < DESYNC_COUNT; i++)
		CHECK(strcmp(reason_desync_label((enum desync_class)i),
		    labels[i]) == 0, "desync label %zu", i);
	CHECK(strcmp(reason_desync_label(DESYNC_COUNT), "compliant") == 0,
	    "desync label out of range");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(reason_desync(rows[i].r) == rows[i].d, "desync of %s: %s",
		    reason_label(rows[i].r), reason_desync_label(rows[i].d));
	for (r = REASON_NONE; r < REASON_COUNT; r++) {
		enum reason_class c = reason_class((enum reason)r);
		enum desync_class d = reason_desync((enum reason)r);

		CHECK((unsigned)d < DESYNC_COUNT, "%s: a desync class",
		    reason_label((enum reason)r));
		/* what a peer did or a limit says nothing of the bytes */
		if (c == REASON_CLASS_TIMEOUT || c == REASON_CLASS_UPSTREAM ||
		    c == REASON_CLASS_LIMIT || c == REASON_CLASS_CLIENT_ABORT)
			CHECK(d == DESYNC_COMPLIANT, "%s: compliant",
			    reason_label((enum reason)r));
		/* every ambiguous-framing refusal is at least ambiguous */
		if (c == REASON_CLASS_AMBIGUOUS)
			CHECK(d >= DESYNC_AMBIGUOUS || r == REASON_FIELD_NAME_UNDERSCORE,
			    "%s: ambiguous at least", reason_label((enum reason)r));
	}
	CHECK(reason_desync(REASON_COUNT) == DESYNC_COMPLIANT, "out of range");
}

/*
 * What monitor mode forwards (docs/classes.md): exactly these, and never a
 * severe reason, a limit, or a reason only a front end sees.
 */
static void
test_monitored(void)
{
	static const enum reason want[] = {
		REASON_CHUNKED, REASON_NO_LENGTH, REASON_TARGET_FRAGMENT,
		REASON_TARGET_ASTERISK, REASON_FIELD_NAME_UNDERSCORE,
		REASON_HOST_MISSING, REASON_TE_UNKNOWN, REASON_BODY_UNEXPECTED,
	};
	unsigned r, n = 0;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(reason_monitored(want[i]), "monitored: %s",
		    reason_label(want[i]));
	for (r = REASON_NONE; r < REASON_COUNT; r++) {
		enum reason_class c = reason_class((enum reason)r);

		if (!reason_monitored((enum reason)r))
			continue;
		n++;
		CHECK(reason_desync((enum reason)r) != DESYNC_SEVERE,
		    "%s: monitored, not severe", reason_label((enum reason)r));
		CHECK(c == REASON_CLASS_MALFORMED || c == REASON_CLASS_AMBIGUOUS ||
		    c == REASON_CLASS_POLICY, "%s: monitored, a request's bytes",
		    reason_label((enum reason)r));
		/* a compliant request is forwarded only for policy */
		CHECK(reason_desync((enum reason)r) != DESYNC_COMPLIANT ||
		    c == REASON_CLASS_POLICY, "%s: compliant, policy",
		    reason_label((enum reason)r));
	}
	CHECK(n == sizeof(want) / sizeof(want[0]), "monitored: %u reasons", n);
	CHECK(!reason_monitored(REASON_NONE) && !reason_monitored(REASON_COUNT),
	    "monitored: none, out of range");
}

int
main(void)
{
	test_rows();
	test_classes();
	test_front_end();
	test_desync();
	test_monitored();
	return check_done("test_reason");
}
