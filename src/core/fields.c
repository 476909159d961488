/*
 * fields.c - see fields.h.
 */
#include <string.h>

#include "fields.h"

#define FIELDS_ROW(id, lname, fl)					\
	[id] = { .name = lname, .len = LITLEN(lname), .flags = fl },
const struct fields_def fields_table[FIELD_COUNT] = {
	[FIELD_OTHER] = { .name = "", .len = 0, .flags = 0 },
	FIELDS_TABLE(FIELDS_ROW)
};
#undef FIELDS_ROW

/*
 * fields_ids: the id in each row's slot. A designated index must be an
 * integer constant expression, which a name's first byte ("host"[0]) is
 * not, so the table is written slot by slot: each slot's id is read, bit
 * by bit, from five bit planes (bit h of plane b: bit b of the id of the
 * row in slot h), which the compiler folds.
 */
#define FIELDS_PLANEBIT(id, lname, b)				\
	| (unsigned long long)((id) >> (b) & 1) <<		\
	    FIELDS_HASH(LITLEN(lname), lname[0])
#define FIELDS_PLANE0(id, lname, fl) FIELDS_PLANEBIT(id, lname, 0)
#define FIELDS_PLANE1(id, lname, fl) FIELDS_PLANEBIT(id, lname, 1)
#define FIELDS_PLANE2(id, lname, fl) FIELDS_PLANEBIT(id, lname, 2)
#define FIELDS_PLANE3(id, lname, fl) FIELDS_PLANEBIT(id, lname, 3)
#define FIELDS_PLANE4(id, lname, fl) FIELDS_PLANEBIT(id, lname, 4)
#define FIELDS_PLANE(b)	(0ull FIELDS_TABLE(FIELDS_PLANE##b))
#define FIELDS_ID_AT(h)	(unsigned char)(			\
	(FIELDS_PLANE(0) >> (h) & 1) | (FIELDS_PLANE(1) >> (h) & 1) << 1 | \
	(FIELDS_PLANE(2) >> (h) & 1) << 2 | (FIELDS_PLANE(3) >> (h) & 1) << 3 | \
	(FIELDS_PLANE(4) >> (h) & 1) << 4)
#define FIELDS_ID_AT4(h)	FIELDS_ID_AT(h), FIELDS_ID_AT((h) + 1),	\
	FIELDS_ID_AT((h) + 2), FIELDS_ID_AT((h) + 3)
#define FIELDS_ID_AT16(h)	FIELDS_ID_AT4(h), FIELDS_ID_AT4((h) + 4),	\
	FIELDS_ID_AT4((h) + 8), FIELDS_ID_AT4((h) + 12)
const unsigned char fields_ids[FIELDS_SLOTS] = {
	FIELDS_ID_AT16(0), FIELDS_ID_AT16(16), FIELDS_ID_AT16(32),
	FIELDS_ID_AT16(48),
};
_Static_assert(FIELDS_SLOTS == 64, "fields_ids: one slot per bit of a word");
_Static_assert(FIELD_COUNT <= 1 << 5, "fields_ids: five bit planes");
#undef FIELDS_ID_AT16
#undef FIELDS_ID_AT4
#undef FIELDS_ID_AT
#undef FIELDS_PLANE
#undef FIELDS_PLANE0
#undef FIELDS_PLANE1
#undef FIELDS_PLANE2
#undef FIELDS_PLANE3
#undef FIELDS_PLANE4
#undef FIELDS_PLANEBIT

#define FIELDS_SHORT(id, lname, fl) && LITLEN(lname) < 32
_Static_assert(1 FIELDS_TABLE(FIELDS_SHORT), "FIELDS_LENGTHS has 32 bits");
#undef FIELDS_SHORT

/*
 * One line at `r` of b[0..len): sets the end of its name and of the line (at
 * its CR). The block holds complete lines; a truncated one ends at len.
 */
static void
line_at(const char *b, size_t len, size_t r, size_t *name_end, size_t *end)
{
	size_t i = r;

	while (i < len && b[i] != ':')
		i++;
	*name_end = i;
	while (i < len && b[i] != '\r')
		i++;
	*end = i;
}

enum field_id
fields_alias(const char *name, size_t n)
{
	unsigned id;
	size_t i;
	int c;

	if (n >= 32 || !(FIELDS_LENGTHS >> n & 1))
		return FIELD_OTHER;
	for (id = FIELD_OTHER + 1; id < FIELD_COUNT; id++) {
		if (fields_table[id].len != n)
			continue;
		for (i = 0; i < n; i++) {
			c = fields_lower((unsigned char)name[i]);
			if ((c == '_' ? '-' : c) != fields_table[id].name[i])
				break;
		}
		if (i == n)
			return (enum field_id)id;
	}
	return FIELD_OTHER;
}

int
fields_list(const char *s, size_t n,
    int (*fn)(void *arg, const char *elem, size_t len), void *arg)
{
	size_t i = 0, b, e;
	int rv;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		b = i;
		while (i < n && s[i] != ',')
			i++;
		e = i;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			e--;
		if (e > b && (rv = fn(arg, s + b, e - b)) != 0)
			return rv;
	}
	return 0;
}

int
fields_find(const char *b, size_t len, const char *lname, size_t *line_off,
    size_t *line_len, size_t *value_off, size_t *value_len)
{
	size_t r, name, end, n = strlen(lname);

	for (r = 0; r < len; r = end + 2) {
		line_at(b, len, r, &name, &end);
		if (fields_eq(b + r, name - r, lname, n)) {
			*line_off = r;
			*line_len = (end + 2 <= len ? end + 2 : len) - r;
			*value_off = name + 2 <= end ? name + 2 : end;
			*value_len = end - *value_off;
			return 1;
		}
	}
	return 0;
}

int
fields_strip_connection(char *b, size_t *len)
{
	char opts[FIELDS_CONN_MAX];
	size_t nopts = 0, r, w, end, name, i, o;

	/* the options, lower-cased, each followed by a NUL */
	for (r = 0; r < *len; r = end + 2) {
		line_at(b, *len, r, &name, &end);
		if (fields_lookup(b + r, name - r) != FIELD_CONNECTION)
			continue;
		for (i = name + 1; i <= end; i++) {
			char c = i < end ? b[i] : ',';

			if (c == ' ' || c == '\t')
				continue;
			if (c == ',') {
				if (nopts > 0 && opts[nopts - 1] != '\0')
					opts[nopts++] = '\0';
				continue;
			}
			if (nopts + 2 > sizeof(opts))
				return -1;
			opts[nopts++] = (char)fields_lower((unsigned char)c);
		}
	}
	for (r = w = 0; r < *len; r = end + 2) {
		int drop;

		line_at(b, *len, r, &name, &end);
		drop = fields_lookup(b + r, name - r) == FIELD_CONNECTION;
		for (o = 0; !drop && o < nopts; o += strlen(opts + o) + 1)
			drop = fields_eq(b + r, name - r, opts + o, strlen(opts + o));
		if (!drop) {
			size_t n = end + 2 <= *len ? end + 2 - r : *len - r;

			memmove(b + w, b + r, n);
			w += n;
		}
	}
	*len = w;
	return 0;
}
