#ifndef UDOCKER_CSQUASHFUSE_H
#define UDOCKER_CSQUASHFUSE_H
#define FUSE_USE_VERSION 31
#include <fuse3/fuse_lowlevel.h>
#include <pthread.h>
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
   operations only, as squashfuse's own squashfuse_ll program registers them. NULL when libfuse refuses. */
static inline struct fuse_session *ud_squashfuse_session(sqfs_ll *image) {
    struct fuse_lowlevel_ops ops = {
        .lookup = sqfs_ll_op_lookup, .forget = sqfs_ll_op_forget, .getattr = sqfs_ll_op_getattr,
        .readlink = sqfs_ll_op_readlink, .open = sqfs_ll_op_open, .read = sqfs_ll_op_read,
        .release = sqfs_ll_op_release, .opendir = sqfs_ll_op_opendir, .readdir = sqfs_ll_op_readdir,
        .releasedir = sqfs_ll_op_releasedir, .statfs = stfs_ll_op_statfs, .getxattr = sqfs_ll_op_getxattr,
        .listxattr = sqfs_ll_op_listxattr,
    };
    /* libfuse wants an argv[0]; no options. */
    static char program[] = "udocker";
    char *argv[] = { program, NULL };
    struct fuse_args args = FUSE_ARGS_INIT(1, argv);
    return fuse_session_new(&args, &ops, sizeof ops, image);
}

static inline void *ud_squashfuse_loop(void *session) {
    fuse_session_loop((struct fuse_session *)session);
    return NULL;
}

/* Answers the session's requests on a thread of its own until the process exits: 0, or an errno. */
static inline int ud_squashfuse_serve_in_background(struct fuse_session *session) {
    pthread_t thread;
    int failed = pthread_create(&thread, NULL, ud_squashfuse_loop, session);
    if (!failed) pthread_detach(thread);
    return failed;
}
#endif
