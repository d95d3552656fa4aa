#ifndef UDOCKER_CARCHIVE_H
#define UDOCKER_CARCHIVE_H
#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>

/* libarchive is not linked: it is opened by ud_archive_load the first time a command reads or writes a tar, so
   commands that never do (run, ps, images, the launcher) start without it and its libraries, and work on a node
   that does not have it. The archive_* functions UdockerCore calls are defined in carchive.c as forwarders to the
   loaded library (hidden, so libarchive's calls to itself never come back here); call ud_archive_load first. */

/* 0 once libarchive.so.13 is loaded with every function UdockerCore calls; -1 with the reason in `error`.
   Not thread-safe: Swift calls it once (ArchiveRuntime). */
int ud_archive_load(char *error, size_t size);
#endif
