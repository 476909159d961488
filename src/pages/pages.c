/*
 * pages.c - load, render and prebuild the error replies (see pages.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <md4c-html.h>

#include "lit.h"
#include "pages.h"

const int pages_statuses[] = {
	400, 408, 411, 413, 414, 417, 431, 500, 501, 502, 503, 504, 505,
};
const size_t pages_nstatuses = sizeof(pages_statuses) / sizeof(pages_statuses[0]);
#define NPAGES (sizeof(pages_statuses) / sizeof(pages_statuses[0]))

/* Reason phrases (RFC 9110 §15) and the hint shown when a page has none. */
static const struct {
	int status;
	const char *phrase;
	const char *hint;
} status_table[] = {
	{ 100, "Continue", NULL },
	{ 400, "Bad Request", "Fix the request's framing and syntax." },
	{ 408, "Request Timeout", "Send the whole request head promptly." },
	{ 411, "Length Required",
	  "Send the body with a `Content-Length` header (not "
	  "`Transfer-Encoding: chunked`), for example "
	  "`curl --data-binary @file`, or send no body." },
	{ 413, "Content Too Large", "Send a smaller body." },
	{ 414, "URI Too Long", "Use a shorter request target." },
	{ 417, "Expectation Failed", "Send Expect: 100-continue or no Expect." },
	{ 431, "Request Header Fields Too Large", "Send fewer or smaller fields." },
	{ 500, "Internal Server Error", "Try again later." },
	{ 501, "Not Implemented", "Use a method and coding the server supports." },
	{ 502, "Bad Gateway", "Try again later." },
	{ 503, "Service Unavailable", "Try again later." },
	{ 504, "Gateway Timeout", "Try again later." },
	{ 505, "HTTP Version Not Supported", "Use HTTP/1.1." },
};

struct page {
	struct page_reply html, json;
	char *head_html, *head_json;
	char *tail_html, *tail_json;
};

struct pages {
	atomic_int refs;
	struct page page[NPAGES];	/* in pages_statuses order */
};

/* ------------------------------------------------------- a byte buffer */

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	char *np;
	size_t ncap;

	if (b->failed)
		return;
	if (n > b->cap - b->len) {
		ncap = b->cap ? b->cap : 1024;
		while (ncap - b->len < n)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->failed = 1;
		return;
	}
	buf_add(b, tmp, (size_t)n);
}

static void
buf_html(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_str(b, "&amp;"); break;
		case '<': buf_str(b, "&lt;"); break;
		case '>': buf_str(b, "&gt;"); break;
		case '"': buf_str(b, "&quot;"); break;
		case '\'': buf_str(b, "&#39;"); break;
		default: buf_add(b, s, 1); break;
		}
	}
}

/*
 * A hint: text in which `backticks` mark code (a command, a field), shown
 * as <code> that a narrow screen does not break mid-word; the rest is
 * escaped like any text.
 */
static void
buf_hint_html(struct buf *b, const char *s)
{
	char one[2] = { 0, 0 };
	int code = 0;

	for (; *s; s++) {
		if (*s == '`') {
			buf_str(b, code ? "</code>" : "<code>");
			code = !code;
			continue;
		}
		one[0] = *s;
		buf_html(b, one);
	}
	if (code)
		buf_str(b, "</code>");
}

/* The same hint as plain text (for problem+json): the backticks go. */
static void
buf_hint_text(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s && o + 1 < cap; s++)
		if (*s != '`')
			out[o++] = *s;
	out[o] = '\0';
}

static void
buf_json(struct buf *b, const char *s)
{
	buf_add(b, LIT("\""));
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf_add(b, LIT("\\"));
			buf_add(b, s, 1);
		} else if (c < 0x20) {
			buf_printf(b, "\\u%04x", c);
		} else {
			buf_add(b, s, 1);
		}
	}
	buf_add(b, LIT("\""));
}

static void
md_out(const MD_CHAR *text, MD_SIZE size, void *arg)
{
	buf_add(arg, text, size);
}

/* ----------------------------------------------------------- loading */

static char *
read_file(const char *path, size_t *len, FILE *errs)
{
	FILE *fp;
	char *data = NULL;
	long n;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(errs, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(errs, "%s: cannot read: %s\n", path, strerror(errno));
		goto fail;
	}
	if (n > 1024 * 1024) {
		fprintf(errs, "%s: larger than 1 MiB\n", path);
		goto fail;
	}
	if ((data = malloc((size_t)n + 1)) == NULL ||
	    fread(data, 1, (size_t)n, fp) != (size_t)n) {
		fprintf(errs, "%s: cannot read\n", path);
		goto fail;
	}
	data[n] = '\0';
	if (memchr(data, '\0', (size_t)n) != NULL) {
		fprintf(errs, "%s: contains a NUL byte\n", path);
		goto fail;
	}
	fclose(fp);
	*len = (size_t)n;
	return data;
fail:
	free(data);
	fclose(fp);
	return NULL;
}

struct front {
	char title[256], subtitle[256], hint[512];
};

/*
 * Split "---\n key: value ... ---\n" off the top of `text`. Returns the
 * Markdown that follows, or NULL (with the problem printed).
 */
static const char *
front_matter(const char *path, const char *text, struct front *fm, FILE *errs)
{
	const char *p = text, *eol, *colon;
	int lineno = 1;

	if (strncmp(p, LIT("---\n")) != 0) {
		fprintf(errs, "%s:1: no front matter (must start with ---)\n", path);
		return NULL;
	}
	for (p += LITLEN("---\n"), lineno++; *p; p = eol + 1, lineno++) {
		size_t klen, vlen;
		const char *v;
		char *dst = NULL;
		size_t cap = 0;

		if ((eol = strchr(p, '\n')) == NULL)
			break;
		if (strncmp(p, LIT("---\n")) == 0) {
			if (fm->title[0] == '\0') {
				fprintf(errs, "%s: front matter has no title\n", path);
				return NULL;
			}
			return eol + 1;
		}
		if (*p == '#' || p == eol)
			continue;
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL) {
			fprintf(errs, "%s:%d: front matter line is not key: value\n",
			    path, lineno);
			return NULL;
		}
		klen = (size_t)(colon - p);
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		vlen = (size_t)(eol - v);
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\r'))
			vlen--;
		if (klen == LITLEN("title") && memcmp(p, LIT("title")) == 0)
			dst = fm->title, cap = sizeof(fm->title);
		else if (klen == LITLEN("subtitle") &&
		    memcmp(p, LIT("subtitle")) == 0)
			dst = fm->subtitle, cap = sizeof(fm->subtitle);
		else if (klen == LITLEN("hint") && memcmp(p, LIT("hint")) == 0)
			dst = fm->hint, cap = sizeof(fm->hint);
		if (dst == NULL)
			continue;	/* url, weight, date...: kept for the site */
		if (vlen >= cap) {
			fprintf(errs, "%s:%d: value too long\n", path, lineno);
			return NULL;
		}
		memcpy(dst, v, vlen);
		dst[vlen] = '\0';
	}
	fprintf(errs, "%s: front matter is not closed by ---\n", path);
	return NULL;
}

static int
status_index(int status)
{
	size_t i;

	for (i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
		if (status_table[i].status == status)
			return (int)i;
	return -1;
}

const char *
pages_reason_phrase(int status)
{
	int i = status_index(status);

	return i < 0 ? "" : status_table[i].phrase;
}

/* Substitute {{name}} placeholders; an unknown one is an error. */
static int
apply_template(struct buf *out, const char *tpl, const char *tpl_path,
    int status, const struct front *fm, const char *hint, const struct buf *content,
    FILE *errs)
{
	const char *p = tpl, *open, *close;

	while ((open = strstr(p, "{{")) != NULL) {
		buf_add(out, p, (size_t)(open - p));
		if ((close = strstr(open, "}}")) == NULL) {
			fprintf(errs, "%s: unclosed {{\n", tpl_path);
			return -1;
		}
#define IS(name) ((size_t)(close - open - 2) == sizeof(name) - 1 && \
	memcmp(open + 2, name, sizeof(name) - 1) == 0)
		if (IS("status"))
			buf_printf(out, "%d", status);
		else if (IS("title"))
			buf_html(out, fm->title);
		else if (IS("subtitle"))
			buf_html(out, fm->subtitle);
		else if (IS("hint"))
			buf_hint_html(out, hint);
		else if (IS("content"))
			buf_add(out, content->p, content->len);
		else {
			fprintf(errs, "%s: unknown placeholder %.*s\n", tpl_path,
			    (int)(close - open + 2), open);
			return -1;
		}
#undef IS
		p = close + 2;
	}
	buf_str(out, p);
	return 0;
}

/* The fields of a reply, up to (not including) Date and the empty line. */
static char *
make_head(int status, const char *type, size_t body_len, unsigned flags,
    size_t *len)
{
	struct buf h = { 0 };

	buf_printf(&h, "HTTP/1.1 %d %s\r\n", status, pages_reason_phrase(status));
	if (!(flags & PAGES_NO_SERVER))
		buf_str(&h, "Server: lengthguard\r\n");
	buf_printf(&h, "Content-Type: %s\r\n", type);
	buf_printf(&h, "Content-Length: %zu\r\n", body_len);
	buf_str(&h, "Connection: close\r\n");
	buf_str(&h, "Cache-Control: no-store\r\n");
	if (h.failed) {
		free(h.p);
		return NULL;
	}
	*len = h.len;
	return h.p;
}

static char *
make_tail(const struct buf *body, size_t *len)
{
	char *t;

	if (body->failed || (t = malloc(body->len + LITLEN("\r\n"))) == NULL)
		return NULL;
	memcpy(t, LIT("\r\n"));
	memcpy(t + LITLEN("\r\n"), body->p, body->len);
	*len = body->len + LITLEN("\r\n");
	return t;
}

static int
page_build(struct page *pg, int status, const char *dir, const char *tpl,
    const char *tpl_path, unsigned flags, FILE *errs)
{
	char path[4096];
	struct front fm;
	struct buf md = { 0 }, html = { 0 }, json = { 0 };
	char plain[512];
	const char *markdown, *hint;
	char *text;
	size_t len;
	int rv = -1, i;

	snprintf(path, sizeof(path), "%s/%d.md", dir, status);
	if ((text = read_file(path, &len, errs)) == NULL)
		return -1;
	memset(&fm, 0, sizeof(fm));
	if ((markdown = front_matter(path, text, &fm, errs)) == NULL)
		goto fail;
	if (md_html(markdown, (MD_SIZE)strlen(markdown), md_out, &md,
	    MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH, 0) != 0 || md.failed) {
		fprintf(errs, "%s: Markdown could not be rendered\n", path);
		goto fail;
	}
	i = status_index(status);
	hint = fm.hint[0] ? fm.hint : status_table[i].hint;
	if (apply_template(&html, tpl, tpl_path, status, &fm, hint, &md, errs) != 0)
		goto fail;

	/* RFC 9457 problem details */
	buf_str(&json, "{\"type\":\"about:blank\",\"title\":");
	buf_json(&json, status_table[i].phrase);
	buf_printf(&json, ",\"status\":%d,\"detail\":", status);
	buf_hint_text(plain, sizeof(plain), hint);
	buf_json(&json, plain);
	buf_str(&json, "}\n");

	pg->tail_html = make_tail(&html, &pg->html.tail_len);
	pg->tail_json = make_tail(&json, &pg->json.tail_len);
	pg->head_html = make_head(status, "text/html; charset=utf-8",
	    html.len, flags, &pg->html.head_len);
	pg->head_json = make_head(status, "application/problem+json",
	    json.len, flags, &pg->json.head_len);
	if (!pg->tail_html || !pg->tail_json || !pg->head_html || !pg->head_json) {
		fprintf(errs, "%s: out of memory\n", path);
		goto fail;
	}
	pg->html.status = pg->json.status = status;
	pg->html.head = pg->head_html;
	pg->json.head = pg->head_json;
	pg->html.tail = pg->tail_html;
	pg->json.tail = pg->tail_json;
	pg->html.body_len = html.len;
	pg->json.body_len = json.len;
	rv = 0;
fail:
	free(text);
	free(md.p);
	free(html.p);
	free(json.p);
	return rv;
}

static void
pages_destroy(struct pages *ps)
{
	size_t i;

	for (i = 0; i < NPAGES; i++) {
		free(ps->page[i].head_html);
		free(ps->page[i].head_json);
		free(ps->page[i].tail_html);
		free(ps->page[i].tail_json);
	}
	free(ps);
}

struct pages *
pages_load(const char *dir, FILE *errs)
{
	return pages_load_with(dir, 0, errs);
}

struct pages *
pages_load_with(const char *dir, unsigned flags, FILE *errs)
{
	struct pages *ps;
	char tpl_path[4096];
	char *tpl;
	size_t len, i;
	int failed = 0;

	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		fprintf(errs, "%s: out of memory\n", dir);
		return NULL;
	}
	atomic_init(&ps->refs, 1);
	snprintf(tpl_path, sizeof(tpl_path), "%s/template.html", dir);
	if ((tpl = read_file(tpl_path, &len, errs)) == NULL) {
		pages_destroy(ps);
		return NULL;
	}
	for (i = 0; i < NPAGES; i++)
		if (page_build(&ps->page[i], pages_statuses[i], dir, tpl,
		    tpl_path, flags, errs) != 0)
			failed = 1;	/* go on: report every broken page */
	free(tpl);
	if (failed) {
		pages_destroy(ps);
		return NULL;
	}
	return ps;
}

void
pages_ref(struct pages *ps)
{
	atomic_fetch_add_explicit(&ps->refs, 1, memory_order_relaxed);
}

void
pages_unref(struct pages *ps)
{
	if (ps != NULL &&
	    atomic_fetch_sub_explicit(&ps->refs, 1, memory_order_acq_rel) == 1)
		pages_destroy(ps);
}

const struct page_reply *
pages_reply(const struct pages *ps, int status, int json)
{
	size_t i, fallback = 0;

	for (i = 0; i < NPAGES; i++) {
		if (pages_statuses[i] == status)
			break;
		if (pages_statuses[i] == 500)
			fallback = i;
	}
	if (i == NPAGES)
		i = fallback;
	return json ? &ps->page[i].json : &ps->page[i].html;
}

size_t
pages_reply_iov(const struct page_reply *r, const char *date_line,
    size_t date_len, int head_only, struct iovec iov[PAGES_REPLY_IOVS])
{
	iov[0].iov_base = (void *)r->head;
	iov[0].iov_len = r->head_len;
	iov[1].iov_base = (void *)date_line;
	iov[1].iov_len = date_len;
	iov[2].iov_base = (void *)r->tail;
	iov[2].iov_len = head_only ? r->tail_len - r->body_len : r->tail_len;
	return head_only ? 0 : r->body_len;
}
