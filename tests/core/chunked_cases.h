/*
 * chunked_cases.h - the chunked body table: the rules of docs/framing.md,
 * "Chunked request bodies" (which names the rows that cover each rule), and
 * the valid bodies around them. See test_chunked.c for how each row is run.
 *
 * A row gives the input in two literals whose border is where the decoder
 * must stop, so the consumed total is never counted by hand:
 *
 *   ROWD(name, body, rest, payload)        DONE after `body`; `rest` (the
 *                                          next request's) is not consumed
 *   ROWM(name, in, payload)                MORE: all of `in` consumed
 *   ROWE(name, good, bad, payload, why)    ERROR at the first byte of `bad`
 *
 * with max_payload CASE_MAX_PAYLOAD; ROWP, ROWQ and ROWL are the same three
 * with a max_payload of their own as the last argument. `payload` is what
 * the sink must have received, in order.
 */
#ifndef LG_CHUNKED_CASES_H
#define LG_CHUNKED_CASES_H

#include <stdint.h>

#include "chunked.h"
#include "lit.h"

#define CASE_MAX_PAYLOAD	(1u << 20)

struct ccase {
	const char *name;
	const char *in;
	size_t len;
	size_t consumed;	/* where the decoder stops */
	const char *payload;
	size_t payload_len;
	enum chunked_verdict verdict;
	enum reason why;
	uint64_t max_payload;
};

#define ROWP(name, body, rest, payload, max)				\
	{ name, body rest, LITLEN(body rest), LITLEN(body),		\
	  payload, LITLEN(payload), CHUNKED_DONE, REASON_NONE, max }
#define ROWQ(name, in, payload, max)					\
	{ name, in, LITLEN(in), LITLEN(in),				\
	  payload, LITLEN(payload), CHUNKED_MORE, REASON_NONE, max }
#define ROWL(name, good, bad, payload, why, max)			\
	{ name, good bad, LITLEN(good bad), LITLEN(good),		\
	  payload, LITLEN(payload), CHUNKED_ERROR, why, max }
#define ROWD(name, body, rest, payload)					\
	ROWP(name, body, rest, payload, CASE_MAX_PAYLOAD)
#define ROWM(name, in, payload)	ROWQ(name, in, payload, CASE_MAX_PAYLOAD)
#define ROWE(name, good, bad, payload, why)				\
	ROWL(name, good, bad, payload, why, CASE_MAX_PAYLOAD)

/* Long inputs, built from pieces whose lengths the compiler checks. */
#define A4	"aaaa"
#define A16	A4 A4 A4 A4
#define A64	A16 A16 A16 A16
#define Z4	"0000"
#define Z16	Z4 Z4 Z4 Z4
/* a chunk line's extensions of exactly CHUNKED_MAX_EXT bytes */
#define EXT_MAX	";" A64 A64 A64 A16 A16 A16 A4 A4 A4 "aaa"
_Static_assert(LITLEN(EXT_MAX) == CHUNKED_MAX_EXT, "EXT_MAX");
/* CHUNKED_MAX_SIZE_DIGITS digits, leading zeros included */
#define SIZE_MAX_DIGITS	Z16 Z4 Z4 Z4 "000" "1"
_Static_assert(LITLEN(SIZE_MAX_DIGITS) == CHUNKED_MAX_SIZE_DIGITS, "SIZE_MAX_DIGITS");
#define ZEROS_MAX_DIGITS Z16 Z16
_Static_assert(LITLEN(ZEROS_MAX_DIGITS) == CHUNKED_MAX_SIZE_DIGITS, "ZEROS_MAX_DIGITS");
/* CHUNKED_MAX_TRAILERS short field lines */
#define T1	"A: b\r\n"
#define T4	T1 T1 T1 T1
#define T_MAX	T4 T4 T4 T4
_Static_assert(LITLEN(T_MAX) == CHUNKED_MAX_TRAILERS * LITLEN(T1), "T_MAX");
/* field lines of CHUNKED_MAX_TRAILER_BYTES bytes in all */
#define L256	"X:" A64 A64 A64 A16 A16 A16 A4 A4 A4 "\r\n"
#define L1024	L256 L256 L256 L256
#define L_MAX	L1024 L1024 L1024 L1024
_Static_assert(LITLEN(L256) == 256 && LITLEN(L_MAX) == CHUNKED_MAX_TRAILER_BYTES &&
    LITLEN(L_MAX) / LITLEN(L256) <= CHUNKED_MAX_TRAILERS, "L_MAX");

#define NEXT	"POST / HTTP/1.1\r\n"

static const struct ccase chunked_cases[] = {
/* -------------------------------------------------------- valid bodies */
ROWD("one chunk", "5\r\nhello\r\n0\r\n\r\n", "", "hello"),
ROWD("many chunks", "5\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n", "",
    "hello world!"),
ROWD("1-byte chunks", "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n", "", "abc"),
ROWD("lowercase hex size", "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", "",
    "abcdefghijklmnopqrstuvwxyz"),
ROWD("uppercase hex size", "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", "",
    "abcdefghijklmnopqrstuvwxyz"),
ROWD("hex size of letters only", "a\r\n0123456789\r\nB\r\nABCDEFGHIJK\r\n0\r\n\r\n",
    "", "0123456789ABCDEFGHIJK"),
ROWD("leading zeros in a size", "0005\r\nhello\r\n0\r\n\r\n", "", "hello"),
ROWD("leading zeros up to CHUNKED_MAX_SIZE_DIGITS",
    SIZE_MAX_DIGITS "\r\na\r\n0\r\n\r\n", "", "a"),
ROWD("last-chunk of several zeros", "5\r\nhello\r\n000\r\n\r\n", "", "hello"),
ROWD("last-chunk of CHUNKED_MAX_SIZE_DIGITS zeros", ZEROS_MAX_DIGITS "\r\n\r\n",
    "", ""),
ROWD("empty body: the last-chunk alone", "0\r\n\r\n", "", ""),
ROWD("chunk-data is not parsed: CRLF and a last-chunk in it",
    "7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n", "", "\r\n0\r\n\r\n"),
ROWD("chunk-data with NUL and high bytes", "4\r\na\0\xff" "b\r\n0\r\n\r\n", "",
    "a\0\xff" "b"),
ROWD("extension: a name alone", "5;foo\r\nhello\r\n0\r\n\r\n", "", "hello"),
ROWD("extension: a token value", "5;name=value\r\nhello\r\n0\r\n\r\n", "", "hello"),
ROWD("extension: a quoted value with ; = and a quoted-pair",
    "5;q=\"a b;c=d\\\"\"\r\nhello\r\n0\r\n\r\n", "", "hello"),
ROWD("extension: a quoted value with obs-text and an escaped tab",
    "5;q=\"\x80\\\t\"\r\nhello\r\n0\r\n\r\n", "", "hello"),
ROWD("extension: an empty quoted value", "5;q=\"\"\r\nhello\r\n0\r\n\r\n", "",
    "hello"),
ROWD("extension: several on one line, and on the last-chunk",
    "5;a;b=1;c=\"x\"\r\nhello\r\n0;last=1\r\n\r\n", "", "hello"),
ROWD("extension: BWS around ; and =",
    "5 ; a = 1 ;\tb\t;c =\"x\"\r\nhello\r\n0\r\n\r\n", "", "hello"),
ROWD("extension: tchar punctuation in name and value",
    "5;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\nhello\r\n0\r\n\r\n", "", "hello"),
ROWD("extension of CHUNKED_MAX_EXT bytes", "1" EXT_MAX "\r\na\r\n0\r\n\r\n", "",
    "a"),
ROWD("trailer fields are dropped", "5\r\nhello\r\n0\r\nChecksum: abc\r\nX-T:\r\n\r\n",
    "", "hello"),
ROWD("trailer framing fields are dropped, not obeyed",
    "5\r\nhello\r\n0\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n"
    "Host: b\r\n\r\n", "", "hello"),
ROWD("trailer value with OWS and obs-text", "0\r\nA: \t x \x80\xff \t\r\nB:c\r\n\r\n",
    "", ""),
ROWD("CHUNKED_MAX_TRAILERS trailer lines", "0\r\n" T_MAX "\r\n", "", ""),
ROWD("trailer section of CHUNKED_MAX_TRAILER_BYTES", "0\r\n" L_MAX "\r\n", "", ""),
ROWD("bytes after the body are not consumed", "5\r\nhello\r\n0\r\n\r\n", NEXT,
    "hello"),
ROWD("a second chunked body is not read", "0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n",
    ""),
ROWD("an invalid byte after the body is not looked at", "0\r\n\r\n", "\n\r\x01",
    ""),
ROWP("payload of exactly max_payload", "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", "",
    "hello", LITLEN("hello")),
ROWP("max_payload 0: an empty body still passes", "0\r\nA: b\r\n\r\n", "", "", 0),

/* -------------------------------------------------- body not complete */
ROWM("not complete: in a chunk-size", "1", ""),
ROWM("not complete: in chunk-data", "5\r\nhel", "hel"),
ROWM("not complete: in a quoted extension", "5;a=\"b;c", ""),
ROWM("not complete: after chunk-data, before its CRLF", "3\r\nabc", "abc"),
ROWM("not complete: in the trailer section", "0\r\nA: b\r\n", ""),
ROWM("not complete: before the final CRLF", "3\r\nabc\r\n0\r\n", "abc"),
ROWQ("a chunk-size of 2^63 - 1 with no limit", "7fffffffffffffff\r\nab", "ab",
    UINT64_MAX),

/* -------------------------------------------------------- chunk-size */
ROWE("size with a plus sign", "", "+5\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_SIZE_INVALID),
ROWE("size with a minus sign", "", "-5\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_SIZE_INVALID),
ROWE("space before the size", "", " 5\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_SIZE_INVALID),
ROWE("tab before the size", "", "\t5\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_SIZE_INVALID),
ROWE("space inside the size", "1 ", "0\r\n0123456789abcdef\r\n0\r\n\r\n", "",
    REASON_CHUNK_SIZE_INVALID),
ROWE("space after the size, no extension", "5 ", "\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_SIZE_INVALID),
ROWE("0x prefix", "0", "x5\r\nhello\r\n0\r\n\r\n", "", REASON_CHUNK_SIZE_INVALID),
ROWE("empty size", "", "\r\nhello\r\n0\r\n\r\n", "", REASON_CHUNK_SIZE_INVALID),
ROWE("empty size before an extension", "", ";a\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_SIZE_INVALID),
ROWE("empty size after a chunk", "1\r\na\r\n", "\r\n0\r\n\r\n", "a",
    REASON_CHUNK_SIZE_INVALID),
ROWE("not a hex digit", "1", "g\r\n0123456789abcdefg\r\n0\r\n\r\n", "",
    REASON_CHUNK_SIZE_INVALID),
ROWE("more than CHUNKED_MAX_SIZE_DIGITS digits", ZEROS_MAX_DIGITS, "0\r\n\r\n", "",
    REASON_CHUNK_SIZE_INVALID),
ROWL("size of 2^63: overflow", "800000000000000", "0\r\n", "",
    REASON_CHUNK_SIZE_OVERFLOW, UINT64_MAX),
ROWL("size of 2^64, 0 modulo 2^64: overflow", "1000000000000000", "0\r\n\r\n",
    "", REASON_CHUNK_SIZE_OVERFLOW, UINT64_MAX),
ROWL("size over max_payload", "", "b\r\nhello world\r\n0\r\n\r\n", "",
    REASON_CHUNKED_TOO_LARGE, 10),
ROWL("size over max_payload: at the digit that passes it", "1", "0\r\n", "",
    REASON_CHUNKED_TOO_LARGE, 15),
ROWL("payload over max_payload across chunks", "5\r\nhello\r\n",
    "6\r\nworld!\r\n0\r\n\r\n", "hello", REASON_CHUNKED_TOO_LARGE, 10),
ROWL("max_payload 0: any chunk is over it", "", "1\r\na\r\n0\r\n\r\n", "",
    REASON_CHUNKED_TOO_LARGE, 0),
ROWL("over max_payload before a bad byte later in the line", "F", "FFz\r\n", "",
    REASON_CHUNKED_TOO_LARGE, 100),

/* ----------------------------------------------------------- CR and LF */
ROWE("bare LF after the size", "5", "\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_BARE_LF),
ROWE("bare LF after an extension", "5;a=b", "\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_BARE_LF),
ROWE("bare LF in a quoted extension", "5;a=\"b", "\n\"\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_BARE_LF),
ROWE("bare LF after the last-chunk", "0", "\n\r\n", "", REASON_CHUNK_BARE_LF),
ROWE("bare LF as the final line", "0\r\n", "\n", "", REASON_CHUNK_BARE_LF),
ROWE("bare LF after a trailer field", "0\r\nA: b", "\n\r\n", "",
    REASON_CHUNK_BARE_LF),
ROWE("bare LF inside a trailer name", "0\r\nA", "\nB: c\r\n\r\n", "",
    REASON_CHUNK_BARE_LF),
ROWE("bare CR after the size", "5\r", "hello\r\n0\r\n\r\n", "",
    REASON_CHUNK_BARE_CR),
ROWE("CR CR LF after the size", "5\r", "\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_BARE_CR),
ROWE("bare CR in a trailer value", "0\r\nA: b\r", "c\r\n\r\n", "",
    REASON_CHUNK_BARE_CR),
ROWE("bare CR as the final line", "0\r\n\r", "\r\n", "", REASON_CHUNK_BARE_CR),
ROWE("CR inside the size", "1\r", "0\r\n", "", REASON_CHUNK_BARE_CR),

/* ---------------------------------------------------------- chunk-data */
ROWE("missing CRLF after chunk-data", "3\r\nabc", "d\r\n0\r\n\r\n", "abc",
    REASON_CHUNK_DATA_END),
ROWE("chunk-data shorter than its size", "5\r\nabc\r\n", "0\r\n\r\n", "abc\r\n",
    REASON_CHUNK_DATA_END),
ROWE("LF alone after chunk-data", "3\r\nabc", "\n0\r\n\r\n", "abc",
    REASON_CHUNK_DATA_END),
ROWE("CR alone after chunk-data", "3\r\nabc\r", "0\r\n\r\n", "abc",
    REASON_CHUNK_DATA_END),
ROWE("a last-chunk right after chunk-data", "3\r\nabc", "0\r\n\r\n", "abc",
    REASON_CHUNK_DATA_END),

/* ---------------------------------------------------------- extensions */
ROWE("extension too long", "1" EXT_MAX, "a\r\na\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_TOO_LONG),
ROWE("extension too long on the last-chunk", "0" EXT_MAX, "b\r\n\r\n", "",
    REASON_CHUNK_EXT_TOO_LONG),
ROWE("extension: ; without a name", "5;", "\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),
ROWE("extension: = without a value", "5;a=", "\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),
ROWE("extension: = without a name", "5;", "=b\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),
ROWE("extension: a name that is no token", "5;", "@\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),
ROWE("extension: a value that is no token", "5;a=b", "@\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),
ROWE("extension: two values", "5;a=b", "=c\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),
ROWE("extension: space inside a name", "5;a ", "b\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),
ROWE("extension: BWS before the CRLF", "5;a ", "\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),
ROWE("extension: BWS after a value, before the CRLF", "5;a=b\t",
    "\r\nhello\r\n0\r\n\r\n", "", REASON_CHUNK_EXT_INVALID),
ROWE("extension: unterminated quoted value", "5;a=\"b", "\r\nhello\r\n0\r\n\r\n",
    "", REASON_CHUNK_EXT_INVALID),
ROWE("extension: a control byte in a quoted value", "5;a=\"",
    "\x01\"\r\nhello\r\n0\r\n\r\n", "", REASON_CHUNK_EXT_INVALID),
ROWE("extension: a quoted-pair of a control byte", "5;a=\"\\",
    "\x7f\"\r\nhello\r\n0\r\n\r\n", "", REASON_CHUNK_EXT_INVALID),
ROWE("extension: text after a quoted value", "5;a=\"b\"", "c\r\nhello\r\n0\r\n\r\n",
    "", REASON_CHUNK_EXT_INVALID),
ROWE("extension: a NUL", "5;a", "\0\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),
ROWE("extension: obs-text in a name", "5;a", "\x80\r\nhello\r\n0\r\n\r\n", "",
    REASON_CHUNK_EXT_INVALID),

/* ------------------------------------------------------------ trailers */
ROWE("trailer obs-fold", "0\r\nA: b\r\n", " c\r\n\r\n", "", REASON_TRAILER_OBS_FOLD),
ROWE("trailer line starting with a tab", "0\r\n", "\tA: b\r\n\r\n", "",
    REASON_TRAILER_OBS_FOLD),
ROWE("trailer without a colon", "0\r\nAbc", "\r\n\r\n", "", REASON_TRAILER_INVALID),
ROWE("trailer with space before the colon", "0\r\nA", " : b\r\n\r\n", "",
    REASON_TRAILER_INVALID),
ROWE("trailer with an empty name", "0\r\n", ": b\r\n\r\n", "",
    REASON_TRAILER_INVALID),
ROWE("trailer name that is no token", "0\r\nA", "@B: c\r\n\r\n", "",
    REASON_TRAILER_INVALID),
ROWE("trailer value with a NUL", "0\r\nA: b", "\0c\r\n\r\n", "",
    REASON_TRAILER_INVALID),
ROWE("trailer value with DEL", "0\r\nA: b", "\x7f\r\n\r\n", "",
    REASON_TRAILER_INVALID),
ROWE("too many trailers", "0\r\n" T_MAX, "A: b\r\n\r\n", "",
    REASON_TOO_MANY_TRAILERS),
ROWE("trailer section too large", "0\r\n" L_MAX, "X: b\r\n\r\n", "",
    REASON_TRAILER_TOO_LARGE),
ROWE("trailer section too large inside a line", "0\r\n" L1024 L1024 L1024 L256 L256
    L256 "X:" A64 A64 A64 A16 A16 A16 A4 A4 A4 "a\r", "\n\r\n", "",
    REASON_TRAILER_TOO_LARGE),
};

#endif /* LG_CHUNKED_CASES_H */
