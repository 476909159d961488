/*
 * lit.h - lengths of string literals, from the compiler: a length is never
 * counted by hand (tests/lint/check_literals.py looks for those).
 *
 *   LITLEN("abc")       3, a constant expression
 *   LIT("abc")          "abc", 3   (two arguments: memcpy(o, LIT("abc")))
 *
 * The "" s "" concatenation makes anything but a literal a compile error,
 * so sizeof can never measure a pointer.
 */
#ifndef LG_LIT_H
#define LG_LIT_H

#define LITLEN(s)	(sizeof("" s "") - 1)
#define LIT(s)		("" s ""), LITLEN(s)

#endif /* LG_LIT_H */
