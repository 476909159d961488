/*
 * accept.h - content negotiation for lengthguard's own replies (RFC 9110
 * §12.5.1): does an Accept field value prefer the JSON page
 * (application/problem+json, RFC 9457) to the HTML one (text/html)?
 *
 * Core code: no allocation, no I/O; any front end may call it.
 */
#ifndef LG_ACCEPT_H
#define LG_ACCEPT_H

#include <stddef.h>

/*
 * 1 if value[0..len) (an Accept field value, OWS trimmed) prefers JSON,
 * 0 for HTML, which is also the answer to an empty or unusable value.
 *
 * Each side takes the weight (q, RFC 9110 §12.4.2) of the most specific
 * media range that matches it, the highest if a range is repeated:
 *   JSON  application/problem+json, then application/json (which a JSON
 *         client reads just as well), then the application wildcard, then
 *         the full wildcard;
 *   HTML  text/html, then the text wildcard, then the full wildcard.
 * JSON wins when it is acceptable (q > 0) and weighs more, or weighs the
 * same and was named (application/...) while HTML came from a wildcard.
 * An element with a malformed range, parameter or qvalue is ignored.
 */
int accept_prefers_json(const char *value, size_t len);

#endif /* LG_ACCEPT_H */
