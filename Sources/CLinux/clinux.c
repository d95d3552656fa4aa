#define _GNU_SOURCE
#include "clinux.h"
#include <sched.h>
#include <string.h>

int ud_unshare(int flags) { return unshare(flags); }
int ud_clone_newuser(void) { return CLONE_NEWUSER; }
int ud_clone_newns(void) { return CLONE_NEWNS; }

int ud_setaffinity_self(const unsigned char *mask, size_t size) {
    cpu_set_t set;
    CPU_ZERO(&set);
    memcpy(&set, mask, size < sizeof set ? size : sizeof set);
    return sched_setaffinity(0, sizeof set, &set);
}

int ud_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int ud_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}
