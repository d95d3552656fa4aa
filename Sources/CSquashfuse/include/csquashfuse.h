#ifndef UDOCKER_CSQUASHFUSE_H
#define UDOCKER_CSQUASHFUSE_H
#define FUSE_USE_VERSION 31
#include <fuse3/fuse_lowlevel.h>
#include <squashfuse/ll.h>
#include <stddef.h>

/* libsquashfuse_ll (squashfuse's low-level FUSE operations, Debian libsquashfuse0) and libfuse3 are not linked:
   they are opened by ud_squashfuse_load the first time a process serves a SquashFS image with FUSE. The
   functions UdockerCore calls are forwarders defined in csquashfuse.c and cfuse3.c (see ondemand.h); call
   ud_squashfuse_load first. */

/* 0 once libfuse3.so.3 and libsquashfuse_ll.so.0 are loaded with every function UdockerCore calls; -1 with the
   reason in `error`. Not thread-safe: Swift calls it once (SquashfuseRuntime). */
int ud_squashfuse_load(char *error, size_t size);

/* A FUSE session whose requests squashfuse answers from `image` (opened with sqfs_ll_open): the read-only
   operations, with every file shown as owned by `uid`:`gid` (see session.c). NULL when libfuse refuses. One
   per process. */
struct fuse_session *ud_squashfuse_session(sqfs_ll *image, uid_t uid, gid_t gid);

/* Answers the session's requests on a thread of its own until the process exits: 0, or an errno. */
int ud_squashfuse_serve_in_background(struct fuse_session *session);
#endif
