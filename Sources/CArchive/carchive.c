#include "carchive.h"
#include "ondemand.h"

typedef struct archive A;
typedef struct archive_entry E;

/* Every libarchive function UdockerCore calls: F(return type, name, parameters, arguments); V for void ones. */
#define ARCHIVE_FUNCTIONS(F, V)                                                                               \
    F(A *, archive_read_new, (void), ())                                                                     \
    F(int, archive_read_support_filter_all, (A *a), (a))                                                     \
    F(int, archive_read_support_format_empty, (A *a), (a))                                                   \
    F(int, archive_read_support_format_raw, (A *a), (a))                                                     \
    F(int, archive_read_support_format_tar, (A *a), (a))                                                     \
    F(int, archive_read_open_filename, (A *a, const char *name, size_t block), (a, name, block))              \
    F(int, archive_read_open_fd, (A *a, int fd, size_t block), (a, fd, block))                               \
    F(int, archive_read_open, (A *a, void *client, archive_open_callback *open, archive_read_callback *read,  \
      archive_close_callback *close), (a, client, open, read, close))                                        \
    F(int, archive_file_count, (A *a), (a))                                                                  \
    F(la_int64_t, archive_read_header_position, (A *a), (a))                                                 \
    F(int, archive_read_next_header, (A *a, E **entry), (a, entry))                                          \
    F(int, archive_read_data_block, (A *a, const void **buffer, size_t *size, la_int64_t *offset),           \
      (a, buffer, size, offset))                                                                             \
    F(int, archive_read_free, (A *a), (a))                                                                   \
    F(A *, archive_write_new, (void), ())                                                                    \
    F(int, archive_write_add_filter_gzip, (A *a), (a))                                                       \
    F(int, archive_write_set_filter_option, (A *a, const char *m, const char *o, const char *v), (a, m, o, v)) \
    F(int, archive_write_set_format_pax_restricted, (A *a), (a))                                             \
    F(int, archive_write_open_fd, (A *a, int fd), (a, fd))                                                   \
    F(int, archive_write_header, (A *a, E *entry), (a, entry))                                               \
    F(la_ssize_t, archive_write_data, (A *a, const void *data, size_t size), (a, data, size))                \
    F(int, archive_write_close, (A *a), (a))                                                                 \
    F(int, archive_write_fail, (A *a), (a))                                                                  \
    F(int, archive_write_free, (A *a), (a))                                                                  \
    F(int, archive_errno, (A *a), (a))                                                                       \
    F(const char *, archive_error_string, (A *a), (a))                                                       \
    F(E *, archive_entry_new, (void), ())                                                                    \
    V(archive_entry_free, (E *e), (e))                                                                       \
    F(E *, archive_entry_clear, (E *e), (e))                                                                 \
    F(__LA_MODE_T, archive_entry_filetype, (E *e), (e))                                                      \
    F(const char *, archive_entry_hardlink, (E *e), (e))                                                     \
    F(time_t, archive_entry_mtime, (E *e), (e))                                                              \
    F(long, archive_entry_mtime_nsec, (E *e), (e))                                                           \
    F(int, archive_entry_mtime_is_set, (E *e), (e))                                                          \
    F(const char *, archive_entry_pathname, (E *e), (e))                                                     \
    F(__LA_MODE_T, archive_entry_perm, (E *e), (e))                                                          \
    F(la_int64_t, archive_entry_size, (E *e), (e))                                                           \
    F(int, archive_entry_size_is_set, (E *e), (e))                                                           \
    F(const char *, archive_entry_symlink, (E *e), (e))                                                      \
    V(archive_entry_set_filetype, (E *e, unsigned int type), (e, type))                                      \
    V(archive_entry_copy_hardlink, (E *e, const char *target), (e, target))                                  \
    V(archive_entry_set_mtime, (E *e, time_t sec, long nsec), (e, sec, nsec))                                \
    V(archive_entry_copy_pathname, (E *e, const char *name), (e, name))                                      \
    V(archive_entry_set_perm, (E *e, __LA_MODE_T perm), (e, perm))                                           \
    V(archive_entry_set_size, (E *e, la_int64_t size), (e, size))                                            \
    V(archive_entry_copy_symlink, (E *e, const char *target), (e, target))                                   \
    V(archive_entry_copy_stat, (E *e, const struct stat *st), (e, st))                                       \
    V(archive_entry_unset_atime, (E *e), (e))                                                                \
    V(archive_entry_unset_ctime, (E *e), (e))                                                                \
    V(archive_entry_unset_birthtime, (E *e), (e))

UD_ON_DEMAND(ARCHIVE_FUNCTIONS)

int ud_archive_load(char *error, size_t size) {
    return ud_load_library("libarchive.so.13", 0, names, slots, slot_count, error, size);
}
