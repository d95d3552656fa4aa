#ifndef UDOCKER_CLINUX_H
#define UDOCKER_CLINUX_H
#include <spawn.h>
#include <stddef.h>

/* Linux/glibc calls that Swift's Glibc module leaves out because they are declared only under _GNU_SOURCE.
   Compiled here with _GNU_SOURCE so the compiler checks every signature. */
int ud_unshare(int flags);
int ud_clone_newuser(void);
int ud_clone_newns(void);
/* sched_setaffinity for the calling process; `mask` is a CPU bitmap of `size` bytes. */
int ud_setaffinity_self(const unsigned char *mask, size_t size);
/* setns(2): join the namespace `fd` refers to (a /proc/PID/ns/ file). */
int ud_setns(int fd, int nstype);
/* sched_getaffinity for the calling process, into a CPU bitmap of `size` bytes. */
int ud_getaffinity_self(unsigned char *mask, size_t size);
/* statfs(2)'s f_type of the file system holding `path` (as unsigned 32 bits), or -1. */
long long ud_filesystem_type(const char *path);
/* dlopen(soname) (RTLD_NOW, never closed; RTLD_GLOBAL when `global`, for a library whose own plugins link against
   it, else RTLD_LOCAL) and dlsym of each of `names` into `slots`.
   0, or -1 with the reason (dlerror's text, or the missing symbol) in `error`. */
int ud_load_library(const char *soname, int global, const char *const names[], void *slots[], size_t count, char *error,
                    size_t size);
int ud_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
/* The child closes every descriptor from `lowest` up (glibc >= 2.34). */
int ud_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);
#endif
