/* SPDX-License-Identifier: GPL-2.0 */
/* Requests a member answers from its own state (local.c). */
#ifndef GNOMOND_DAEMON_LOCAL_H
#define GNOMOND_DAEMON_LOCAL_H

#include "daemon.h"

/* A serializable Range, Maintenance.Status, Cluster.MemberList or an
 * Alarm GET, answered at once. */
void gd_local__serve(struct gnomond *d, const struct gd_target *t,
		     enum api_method method, const ProtobufCMessage *decoded);

#endif /* GNOMOND_DAEMON_LOCAL_H */
