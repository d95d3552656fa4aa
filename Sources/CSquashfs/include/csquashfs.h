#ifndef UDOCKER_CSQUASHFS_H
#define UDOCKER_CSQUASHFS_H
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/data_reader.h>
#include <sqfs/dir_reader.h>
#include <sqfs/dir_writer.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>
#include <stddef.h>

/* libsquashfs (squashfs-tools-ng) is not linked: it is opened by ud_squashfs_load the first time a command builds
   or reads a SquashFS image, so every other command starts without it and runs on a node that lacks it. The
   sqfs_* functions UdockerCore calls are forwarders defined in csquashfs.c (see ondemand.h); call
   ud_squashfs_load first. */

/* 0 once libsquashfs.so.1 is loaded with every function UdockerCore calls; -1 with the reason in `error`.
   Not thread-safe: Swift calls it once (SquashRuntime). */
int ud_squashfs_load(char *error, size_t size);

/* The bytes after an inode's fixed part (a symlink's target, a file's block sizes): a flexible array member,
   which Swift does not import. */
static inline void *ud_sqfs_inode_payload(sqfs_inode_generic_t *inode) { return (void *)inode->extra; }
static inline size_t ud_sqfs_inode_fixed_size(void) { return sizeof(sqfs_inode_generic_t); }

/* A tree node's name (a flexible array member too). */
static inline const char *ud_sqfs_tree_node_name(const sqfs_tree_node_t *node) { return (const char *)node->name; }

/* The calls of libsquashfs's file object, a table of function pointers. */
static inline sqfs_u64 ud_sqfs_file_size(sqfs_file_t *file) { return file->get_size(file); }
static inline int ud_sqfs_file_truncate(sqfs_file_t *file, sqfs_u64 size) { return file->truncate(file, size); }
/* Writes the compressor's options (its level) after the super block: > 0 when it wrote some. */
static inline int ud_sqfs_compressor_write_options(sqfs_compressor_t *cmp, sqfs_file_t *file) {
    return cmp->write_options(cmp, file);
}
static inline void ud_sqfs_destroy(void *object) { sqfs_destroy(object); }
#endif
