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

int ud_setns(int fd, int nstype) { return setns(fd, nstype); }

int ud_getaffinity_self(unsigned char *mask, size_t size) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    memcpy(mask, &set, size < sizeof set ? size : sizeof set);
    return 0;
}

#include <sys/vfs.h>
long long ud_filesystem_type(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return -1;
    return (long long)(unsigned int)fs.f_type;
}

#include <dlfcn.h>
#include <stdio.h>
int ud_load_library(const char *soname, int global, const char *const names[], void *slots[], size_t count, char *error,
                    size_t size) {
    void *handle = dlopen(soname, RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL));
    if (!handle) {
        snprintf(error, size, "%s", dlerror());
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        slots[i] = dlsym(handle, names[i]);
        if (!slots[i]) {
            snprintf(error, size, "%s has no %s (too old a version)", soname, names[i]);
            return -1;
        }
    }
    return 0;
}
