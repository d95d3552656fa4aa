#include <stddef.h>
#include <stdint.h>
#include "ondemand.h"

/* squashfuse's and libfuse's headers are not included here (a forwarder must be hidden, see ondemand.h, and must
   not meet the library's own declaration): each type is spelled as the C type it is (every request, inode,
   entry, stat and file info is a pointer; sqfs_err is an enum, an int; fuse_ino_t is uint64_t; off_t is long on
   Linux x86_64 and aarch64). The real declarations reach session.c and UdockerCore through csquashfuse.h. */
typedef void P;
typedef unsigned long long Ino;

/* Every libsquashfuse_ll function session.c and UdockerCore call: F(return type, name, parameters, arguments). */
#define SQUASHFUSE_FUNCTIONS(F, V)                                                                      \
    F(P *, sqfs_ll_open, (const char *path, size_t offset), (path, offset))                             \
    F(int, sqfs_ll_iget, (P *req, P *node, Ino ino), (req, node, ino))                                  \
    V(sqfs_dentry_init, (P *entry, char *name), (entry, name))                                          \
    F(int, sqfs_dir_lookup, (P *fs, P *inode, const char *name, size_t size, P *entry, _Bool *found),   \
      (fs, inode, name, size, entry, found))                                                            \
    F(uint64_t, sqfs_dentry_inode, (P *entry), (entry))                                                 \
    F(int, sqfs_inode_get, (P *fs, P *inode, uint64_t id), (fs, inode, id))                             \
    F(int, sqfs_stat, (P *fs, P *inode, P *st), (fs, inode, st))                                        \
    V(sqfs_ll_op_lookup, (P *req, Ino parent, const char *name), (req, parent, name))                   \
    V(sqfs_ll_op_forget, (P *req, Ino ino, unsigned long lookups), (req, ino, lookups))                 \
    V(sqfs_ll_op_getattr, (P *req, Ino ino, P *fi), (req, ino, fi))                                     \
    V(sqfs_ll_op_readlink, (P *req, Ino ino), (req, ino))                                               \
    V(sqfs_ll_op_open, (P *req, Ino ino, P *fi), (req, ino, fi))                                        \
    V(sqfs_ll_op_read, (P *req, Ino ino, size_t size, long off, P *fi), (req, ino, size, off, fi))      \
    V(sqfs_ll_op_release, (P *req, Ino ino, P *fi), (req, ino, fi))                                     \
    V(sqfs_ll_op_opendir, (P *req, Ino ino, P *fi), (req, ino, fi))                                     \
    V(sqfs_ll_op_readdir, (P *req, Ino ino, size_t size, long off, P *fi), (req, ino, size, off, fi))   \
    V(sqfs_ll_op_releasedir, (P *req, Ino ino, P *fi), (req, ino, fi))                                  \
    V(stfs_ll_op_statfs, (P *req, Ino ino), (req, ino))                                                 \
    V(sqfs_ll_op_getxattr, (P *req, Ino ino, const char *name, size_t size), (req, ino, name, size))    \
    V(sqfs_ll_op_listxattr, (P *req, Ino ino, size_t size), (req, ino, size))

UD_ON_DEMAND(SQUASHFUSE_FUNCTIONS)

int ud_fuse3_load(char *error, size_t size);

int ud_squashfuse_load(char *error, size_t size) {
    /* libsquashfuse_ll needs libfuse3 itself (its operations reply through it): opening it first gives the
       clearer message where it is missing. */
    if (ud_fuse3_load(error, size) != 0) return -1;
    return ud_load_library("libsquashfuse_ll.so.0", 0, names, slots, slot_count, error, size);
}
