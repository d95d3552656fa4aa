#include <stdint.h>
#include "ondemand.h"

/* libsquashfs's headers declare its functions with visibility("default"), and a forwarder must be hidden (see
   ondemand.h): so this file does not include them, and spells each of its types as the C type it is (every
   sqfs_*_t handed over is a pointer; sqfs_uNN are uintNN_t; SQFS_COMPRESSOR is an enum). UdockerCore sees the
   real declarations through csquashfs.h. */
typedef void P;

/* Every libsquashfs function UdockerCore calls: F(return type, name, parameters, arguments). */
#define SQUASHFS_FUNCTIONS(F, V)                                                                     \
    F(P *, sqfs_open_file, (const char *name, uint32_t flags), (name, flags))                        \
    F(int, sqfs_super_init, (P *s, size_t block, uint32_t mtime, int id),                            \
      (s, block, mtime, id))                                                                         \
    F(int, sqfs_super_write, (P *s, P *f), (s, f))                                                   \
    F(int, sqfs_compressor_config_init, (P *c, int id, size_t block,                                 \
      uint16_t flags), (c, id, block, flags))                                                        \
    F(int, sqfs_compressor_create, (P *c, P **out), (c, out))                                        \
    F(P *, sqfs_block_writer_create, (P *f, size_t align, uint32_t flags),                           \
      (f, align, flags))                                                                             \
    F(P *, sqfs_frag_table_create, (uint32_t flags), (flags))                                        \
    F(int, sqfs_frag_table_write, (P *t, P *f, P *s,                                                 \
      P *c), (t, f, s, c))                                                                           \
    F(P *, sqfs_block_processor_create, (size_t block, P *c,                                         \
      unsigned int workers, size_t backlog, P *w, P *t),                                             \
      (block, c, workers, backlog, w, t))                                                            \
    F(int, sqfs_block_processor_begin_file, (P *p, P **inode,                                        \
      void *user, uint32_t flags), (p, inode, user, flags))                                          \
    F(int, sqfs_block_processor_append, (P *p, const void *data, size_t size),                       \
      (p, data, size))                                                                               \
    F(int, sqfs_block_processor_end_file, (P *p), (p))                                               \
    F(int, sqfs_block_processor_finish, (P *p), (p))                                                 \
    F(P *, sqfs_meta_writer_create, (P *f, P *c, uint32_t flags),                                    \
      (f, c, flags))                                                                                 \
    V(sqfs_meta_writer_get_position, (P *m, uint64_t *block, uint32_t *offset),                      \
      (m, block, offset))                                                                            \
    F(int, sqfs_meta_writer_write_inode, (P *m, P *n), (m, n))                                       \
    F(int, sqfs_meta_writer_flush, (P *m), (m))                                                      \
    F(int, sqfs_meta_write_write_to_file, (P *m), (m))                                               \
    F(P *, sqfs_dir_writer_create, (P *m, uint32_t flags), (m, flags))                               \
    F(int, sqfs_dir_writer_begin, (P *w, uint32_t flags), (w, flags))                                \
    F(int, sqfs_dir_writer_add_entry, (P *w, const char *name, uint32_t number,                      \
      uint64_t ref, uint16_t mode), (w, name, number, ref, mode))                                    \
    F(int, sqfs_dir_writer_end, (P *w), (w))                                                         \
    F(P *, sqfs_dir_writer_create_inode, (P *w, size_t links,                                        \
      uint32_t xattr, uint32_t parent), (w, links, xattr, parent))                                   \
    F(P *, sqfs_id_table_create, (uint32_t flags), (flags))                                          \
    F(int, sqfs_id_table_id_to_index, (P *t, uint32_t id, uint16_t *out), (t, id, out))              \
    F(int, sqfs_id_table_write, (P *t, P *f, P *s, P *c),                                            \
      (t, f, s, c))                                                                                  \
    F(int, sqfs_inode_make_extended, (P *n), (n))                                                    \
    F(int, sqfs_inode_get_file_size, (P *n, uint64_t *size), (n, size))                              \
    F(int, sqfs_super_read, (P *s, P *f), (s, f))                                                    \
    F(int, sqfs_id_table_read, (P *t, P *f, P *s, P *c), (t, f, s, c))                               \
    F(P *, sqfs_dir_reader_create, (P *s, P *c, P *f, uint32_t flags), (s, c, f, flags))             \
    F(int, sqfs_dir_reader_get_full_hierarchy, (P *r, P *t, const char *path, uint32_t flags, P **out), \
      (r, t, path, flags, out))                                                                      \
    V(sqfs_dir_tree_destroy, (P *root), (root))                                                      \
    F(P *, sqfs_data_reader_create, (P *f, size_t block, P *c, uint32_t flags), (f, block, c, flags)) \
    F(int, sqfs_data_reader_load_fragment_table, (P *d, P *s), (d, s))                               \
    F(int32_t, sqfs_data_reader_read, (P *d, P *n, uint64_t offset, void *buffer, uint32_t size),   \
      (d, n, offset, buffer, size))

UD_ON_DEMAND(SQUASHFS_FUNCTIONS)

int ud_squashfs_load(char *error, size_t size) {
    return ud_load_library("libsquashfs.so.1", 0, names, slots, slot_count, error, size);
}
