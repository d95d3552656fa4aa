#ifndef UDOCKER_CHWLOC_H
#define UDOCKER_CHWLOC_H
#include <hwloc.h>
#include <stddef.h>

/* libhwloc is not linked: it and libudev load at every start otherwise, and only rank pinning, `--cpuset-cpus`
   and `udocker-launch info` read the topology. The hwloc_* functions UdockerCore calls, and those hwloc.h's
   inline helpers call, are forwarders defined in chwloc.c (see ondemand.h); call ud_hwloc_load first. */

/* 0 once libhwloc.so.15 is loaded with every function UdockerCore calls and its API is the 2.x these headers
   describe; -1 with the reason in `error`. Not thread-safe: Swift calls it once (HwlocRuntime). */
int ud_hwloc_load(char *error, size_t size);
#endif
