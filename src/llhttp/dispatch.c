/*
 * dispatch.c - pick llhttp's SSE4.2 code paths at run time.
 *
 * Debian's llhttp.c is compiled twice (by CMakeLists.txt, never copied
 * here): once for any x86-64 CPU and once with -msse4.2, with its execute
 * function renamed in each. This GNU indirect function resolves
 * llhttp__internal_execute to the fastest one the CPU can run, once, when
 * the program is loaded; the binary stays portable.
 */
#include <llhttp.h>

int llhttp__internal_execute_generic(llhttp__internal_t *, const char *,
    const char *);
int llhttp__internal_execute_sse42(llhttp__internal_t *, const char *,
    const char *);

typedef int (*execute_fn)(llhttp__internal_t *, const char *, const char *);

static execute_fn
resolve_execute(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2") ?
	    llhttp__internal_execute_sse42 : llhttp__internal_execute_generic;
}

int llhttp__internal_execute(llhttp__internal_t *, const char *, const char *)
    __attribute__((ifunc("resolve_execute")));
