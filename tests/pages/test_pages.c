/*
 * test_pages.c - the prebuilt replies: every page loads, each reply's head
 * is complete and consistent with its body, the 411 page carries the seed's
 * content, and broken page directories are refused naming the file.
 *
 * usage: test_pages PAGES_DIR [OUT_DIR]
 * With OUT_DIR, every HTML body is also written there as NNN.html for
 * check_html.py to parse.
 */

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "pages.h"

static int
has(const char *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle)) != NULL;
}

static void
check_reply(const struct page_reply *r, int status, int json)
{
	char line[128], cl[64];

	snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status,
	    pages_reason_phrase(status));
	CHECK(r->status == status, "%d: status", status);
	CHECK(r->head_len > strlen(line) && memcmp(r->head, line, strlen(line)) == 0,
	    "%d: status line", status);
	snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", r->body_len);
	CHECK(has(r->head, r->head_len, cl), "%d/%d: Content-Length matches body",
	    status, json);
	CHECK(has(r->head, r->head_len, "\r\nConnection: close\r\n"),
	    "%d: Connection: close", status);
	CHECK(has(r->head, r->head_len, "\r\nCache-Control: no-store\r\n"),
	    "%d: no-store", status);
	CHECK(has(r->head, r->head_len, json ?
	    "\r\nContent-Type: application/problem+json\r\n" :
	    "\r\nContent-Type: text/html; charset=utf-8\r\n"),
	    "%d/%d: Content-Type", status, json);
	CHECK(r->head_len >= 2 && memcmp(r->head + r->head_len - 2, "\r\n", 2) == 0 &&
	    !has(r->head, r->head_len, "\r\n\r\n"),
	    "%d: head ends with one CRLF (Date goes next)", status);
	CHECK(r->tail_len == r->body_len + 2 && memcmp(r->tail, "\r\n", 2) == 0,
	    "%d: tail is CRLF + body", status);
	CHECK(!has(r->tail, r->tail_len, "{{"), "%d: no placeholder left", status);
	if (json) {
		char st[32];

		snprintf(st, sizeof(st), "\"status\":%d,", status);
		CHECK(has(r->tail, r->tail_len, st) &&
		    has(r->tail, r->tail_len, "\"type\":\"about:blank\"") &&
		    has(r->tail, r->tail_len, "\"detail\":\""),
		    "%d: problem+json members", status);
	} else {
		char t[160];

		snprintf(t, sizeof(t), "<title>%d %s</title>", status,
		    pages_reason_phrase(status));
		CHECK(has(r->tail, r->tail_len, "<!DOCTYPE html>"), "%d: doctype",
		    status);
		CHECK(has(r->tail, r->tail_len, t), "%d: %s", status, t);
		CHECK(has(r->tail, r->tail_len, "href=\"https://www.rfc-editor."
		    "org/rfc/rfc") || has(r->tail, r->tail_len,
		    "href=\"https://tools.ietf.org/html/rfc"), "%d: a link to "
		    "its RFC section", status);
		/* 411 quotes its seed; the others are lengthguard's own
		 * summaries, presented as such, never as quotations */
		if (status == 411)
			CHECK(has(r->tail, r->tail_len, "<blockquote>") &&
			    has(r->tail, r->tail_len, "<cite>"), "411: the quote");
		else
			CHECK(!has(r->tail, r->tail_len, "<blockquote>") &&
			    has(r->tail, r->tail_len, "A summary of "),
			    "%d: summaries, not quotations", status);
	}
}

static void
test_411(const struct pages *ps)
{
	const struct page_reply *r = pages_reply(ps, 411, 0);
	const char *b = r->tail + 2;
	size_t n = r->body_len;

	CHECK(has(b, n, "<title>411 Length Required</title>"), "411: title");
	CHECK(has(b, n, "<h1>411 Length Required</h1>"), "411: h1");
	CHECK(has(b, n, "HTTP/1.1 411 Length Required"), "411: subtitle");
	CHECK(has(b, n, "The 411 (Length Required) status code indicates"),
	    "411: RFC 7231 definition quoted");
	CHECK(has(b, n, "<a href=\"https://tools.ietf.org/html/rfc7231#section-6.5.10\">"
	    "RFC 7231 Section 6.5.10</a>"), "411: citation link");
	CHECK(has(b, n, "draft-ietf-http-v11-spec-00"), "411: first appearance");
	CHECK(has(b, n, "411 Authorization Refused"), "411: the old meaning");
	CHECK(has(b, n, "Content-Length header"), "411: hint shown");
	CHECK(!has(b, n, "hidden: True"), "411: front matter not rendered");
	r = pages_reply(ps, 411, 1);
	CHECK(has(r->tail, r->tail_len, "\"title\":\"Length Required\""),
	    "411: json title");
	/* no page of its own: the 500 reply */
	CHECK(pages_reply(ps, 418, 0)->status == 500, "418 falls back to 500");
}

/* Copy the good pages into a temporary directory, then break one thing. */
static char *
broken_dir(const char *src, const char *victim, const char *content)
{
	static char dir[64];
	char cmd[8192], path[256];
	FILE *fp;

	snprintf(dir, sizeof(dir), "/tmp/lg-pages-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return NULL;
	snprintf(cmd, sizeof(cmd), "cp '%s'/*.md '%s'/template.html '%s'/",
	    src, src, dir);
	if (system(cmd) != 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, victim);
	if (content == NULL) {
		unlink(path);
	} else {
		if ((fp = fopen(path, "w")) == NULL)
			return NULL;
		fputs(content, fp);
		fclose(fp);
	}
	return dir;
}

static void
test_broken(const char *src)
{
	static const struct {
		const char *victim, *content, *expect;
	} rows[] = {
		{ "411.md", NULL, "/411.md: cannot open: No such file" },
		{ "502.md", "# no front matter\n", "/502.md:1: no front matter" },
		{ "504.md", "---\ntitle: x\n", "/504.md: front matter is not closed" },
		{ "400.md", "---\nsubtitle: y\n---\nbody\n", "/400.md: front matter has no title" },
		{ "408.md", "---\ntitle x\n---\n", "/408.md:2: front matter line is not key: value" },
		{ "template.html", "<p>{{nope}}</p>", "template.html: unknown placeholder {{nope}}" },
		{ "template.html", "<p>{{title</p>", "template.html: unclosed {{" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *dir = broken_dir(src, rows[i].victim, rows[i].content);
		char *out = NULL, cmd[128];
		size_t outlen = 0;
		FILE *errs;
		struct pages *ps;

		CHECK(dir != NULL, "broken %zu: set up", i);
		if (dir == NULL)
			continue;
		errs = open_memstream(&out, &outlen);
		ps = pages_load(dir, errs);
		fclose(errs);
		CHECK(ps == NULL, "broken %s: refused", rows[i].victim);
		CHECK(out && strstr(out, rows[i].expect) != NULL,
		    "broken %s: says \"%s\" (said \"%s\")", rows[i].victim,
		    rows[i].expect, out ? out : "");
		pages_unref(ps);
		free(out);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			CHECK(0, "cleanup %s", dir);
	}
}

int
main(int argc, char **argv)
{
	struct pages *ps;
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: test_pages PAGES_DIR [OUT_DIR]\n");
		return 2;
	}
	ps = pages_load(argv[1], stderr);
	CHECK(ps != NULL, "pages load from %s", argv[1]);
	if (ps == NULL)
		return check_done("test_pages");
	for (i = 0; i < pages_nstatuses; i++) {
		check_reply(pages_reply(ps, pages_statuses[i], 0), pages_statuses[i], 0);
		check_reply(pages_reply(ps, pages_statuses[i], 1), pages_statuses[i], 1);
		if (argc > 2) {
			const struct page_reply *r = pages_reply(ps, pages_statuses[i], 0);
			char path[4096];
			FILE *fp;

			snprintf(path, sizeof(path), "%s/%d.html", argv[2],
			    pages_statuses[i]);
			fp = fopen(path, "w");
			CHECK(fp != NULL, "write %s", path);
			if (fp) {
				fwrite(r->tail + 2, 1, r->body_len, fp);
				fclose(fp);
			}
		}
	}
	test_411(ps);
	/* a reference held elsewhere keeps the pages alive */
	pages_ref(ps);
	pages_unref(ps);
	CHECK(pages_reply(ps, 400, 0)->status == 400, "pages survive one unref of two");
	pages_unref(ps);
	test_broken(argv[1]);
	return check_done("test_pages");
}
