#ifndef UDOCKER_CNUMA_SHIM_H
#define UDOCKER_CNUMA_SHIM_H
#include <numa.h>
#endif
