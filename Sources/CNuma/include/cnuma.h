#ifndef UDOCKER_CNUMA_H
#define UDOCKER_CNUMA_H
#include <numa.h>
#include <stddef.h>

/* libnuma is not linked (its constructor reads sysfs at every start); the numa_* functions UdockerCore calls are
   forwarders defined in cnuma.c (see ondemand.h); call ud_numa_load first. */

/* 0 once libnuma.so.1 is loaded with every function UdockerCore calls; -1 with the reason in `error`.
   Not thread-safe: Swift calls it once (NumaLibrary). */
int ud_numa_load(char *error, size_t size);
#endif
