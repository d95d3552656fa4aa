#include <stddef.h>
#include "ondemand.h"

/* libfuse3's low-level session calls, forwarded as csquashfuse.c forwards squashfuse's (same reasons): every
   fuse_session and fuse_args is a pointer. */
typedef void P;

#define FUSE3_FUNCTIONS(F, V)                                                                           \
    F(P *, fuse_session_new, (P *args, const P *ops, size_t size, P *userdata), (args, ops, size, userdata)) \
    F(int, fuse_session_mount, (P *session, const char *mountpoint), (session, mountpoint))              \
    F(int, fuse_session_loop, (P *session), (session))                                                   \
    F(int, fuse_reply_err, (P *req, int error), (req, error))                                            \
    F(int, fuse_reply_attr, (P *req, const P *attr, double timeout), (req, attr, timeout))               \
    F(int, fuse_reply_entry, (P *req, const P *entry), (req, entry))

UD_ON_DEMAND(FUSE3_FUNCTIONS)

__attribute__((visibility("hidden"))) int ud_fuse3_load(char *error, size_t size) {
    return ud_load_library("libfuse3.so.3", 0, names, slots, slot_count, error, size);
}
