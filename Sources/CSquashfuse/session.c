#define FUSE_USE_VERSION 31
#include <errno.h>
#include <float.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include "csquashfuse.h"

/* The session squashfuse serves, with one change: the files' owner. An image's files belong to root (create's
   rule), and a U1 namespace maps only the caller's own ids (never 0: Open MPI's PMIx wire-up breaks), so the
   kernel would show them as the overflow id, and overlayfs cannot copy such a directory up into a writable
   layer (its owner cannot be set). So lookup and getattr, the two replies that carry an owner, answer with the
   caller's ids, as the tree `create` extracts as the user is the user's. Both follow squashfuse's own
   operations, with the same calls; the others are squashfuse's (forwarders in csquashfuse.c and cfuse3.c). */

/* Exported by libsquashfuse_ll but not declared in its installed headers (squashfuse's ll.c calls it so). */
sqfs_err sqfs_stat(sqfs *fs, sqfs_inode *inode, struct stat *st);

static uid_t owner_uid;
static gid_t owner_gid;

/* Entries and attributes never change: the image is read-only. */
static const double forever = DBL_MAX;

static void owned_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    sqfs_ll_i node;
    struct stat st;
    if (sqfs_ll_iget(req, &node, ino)) return;   /* it has replied */
    if (sqfs_stat(&node.ll->fs, &node.inode, &st)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    st.st_ino = ino;
    st.st_uid = owner_uid;
    st.st_gid = owner_gid;
    fuse_reply_attr(req, &st, forever);
}

static void owned_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    sqfs_ll_i directory;
    if (sqfs_ll_iget(req, &directory, parent)) return;
    if (!S_ISDIR(directory.inode.base.mode)) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    sqfs_name buffer;
    sqfs_dir_entry entry;
    bool found = false;
    sqfs_dentry_init(&entry, buffer);
    if (sqfs_dir_lookup(&directory.ll->fs, &directory.inode, name, strlen(name), &entry, &found)) {
        fuse_reply_err(req, EIO);
        return;
    }
    struct fuse_entry_param reply;
    memset(&reply, 0, sizeof reply);
    reply.attr_timeout = reply.entry_timeout = forever;
    if (!found) {   /* inode 0: "no such name", remembered by the kernel as long as the entry */
        fuse_reply_entry(req, &reply);
        return;
    }
    sqfs_inode inode;
    if (sqfs_inode_get(&directory.ll->fs, &inode, sqfs_dentry_inode(&entry))) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (sqfs_stat(&directory.ll->fs, &inode, &reply.attr)) {
        fuse_reply_err(req, EIO);
        return;
    }
    reply.ino = directory.ll->ino_register(directory.ll, &entry);
    reply.attr.st_ino = reply.ino;
    reply.attr.st_uid = owner_uid;
    reply.attr.st_gid = owner_gid;
    fuse_reply_entry(req, &reply);
}

/* The image never changes, so the kernel may keep what it has read: a directory's entries after its first
   readdir and symlink targets (file pages it keeps already: squashfuse's open sets keep_cache). Without these
   every walk asks the server again (measured: a warm `find -ls` 5.5x the extracted tree, 1.6x with them;
   docs/performance.md, bench/squashfs). */
static void cached_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    sqfs_ll_op_opendir(req, ino, fi);
}

static void cache_init(void *userdata, struct fuse_conn_info *conn) {
    (void)userdata;
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
}

__attribute__((visibility("hidden"))) struct fuse_session *ud_squashfuse_session(sqfs_ll *image, uid_t uid, gid_t gid) {
    owner_uid = uid;
    owner_gid = gid;
    struct fuse_lowlevel_ops ops = {
        .lookup = owned_lookup, .forget = sqfs_ll_op_forget, .getattr = owned_getattr,
        .readlink = sqfs_ll_op_readlink, .open = sqfs_ll_op_open, .read = sqfs_ll_op_read, .init = cache_init,
        .release = sqfs_ll_op_release, .opendir = cached_opendir, .readdir = sqfs_ll_op_readdir,
        .releasedir = sqfs_ll_op_releasedir, .statfs = stfs_ll_op_statfs, .getxattr = sqfs_ll_op_getxattr,
        .listxattr = sqfs_ll_op_listxattr,
    };
    /* libfuse wants an argv[0]; no options. */
    static char program[] = "udocker";
    char *argv[] = { program, NULL };
    struct fuse_args args = FUSE_ARGS_INIT(1, argv);
    return fuse_session_new(&args, &ops, sizeof ops, image);
}

static void *loop(void *session) {
    fuse_session_loop(session);
    return NULL;
}

__attribute__((visibility("hidden"))) int ud_squashfuse_serve_in_background(struct fuse_session *session) {
    pthread_t thread;
    int failed = pthread_create(&thread, NULL, loop, session);
    if (!failed) pthread_detach(thread);
    return failed;
}
