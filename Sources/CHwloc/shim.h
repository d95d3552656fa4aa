#ifndef UDOCKER_CHWLOC_SHIM_H
#define UDOCKER_CHWLOC_SHIM_H
#include <hwloc.h>
#endif
