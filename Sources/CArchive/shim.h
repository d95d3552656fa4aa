#ifndef UDOCKER_CARCHIVE_SHIM_H
#define UDOCKER_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
