/*
 * client.h - a client connection: its state machine, the record of the
 * request it is on, and its one finalize path (client.c).
 */
#ifndef LG_CLIENT_H
#define LG_CLIENT_H

#include <sys/socket.h>

#include "worker.h"

/* Take over an accepted, non-blocking socket. */
void client_accept(struct worker *, evutil_socket_t, const struct sockaddr *);

/* Graceful stop: close the worker's connections that are between
 * requests; the others close after their response. */
void client_stop_idle(struct worker *);

#endif /* LG_CLIENT_H */
