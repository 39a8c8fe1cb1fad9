/*
 * notify.h -- sd_notify for syncd (systemd's Type=notify), without
 * libsystemd.  Each call does nothing unless $NOTIFY_SOCKET is set.
 */
#ifndef RPCSYNC_NOTIFY_H
#define RPCSYNC_NOTIFY_H

/* READY=1: registered with rpcbind and accepting connections. */
void notify_ready(void);

/* RELOADING=1 (with MONOTONIC_USEC): SIGHUP is being handled; READY=1 follows. */
void notify_reloading(void);

/* STOPPING=1: SIGTERM or SIGINT; the sessions are being drained. */
void notify_stopping(void);

#endif
