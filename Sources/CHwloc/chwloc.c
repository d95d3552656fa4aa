#include <stdio.h>
#include "chwloc.h"
#include "ondemand.h"

typedef hwloc_topology_t T;

/* Every libhwloc function UdockerCore calls, directly or through hwloc.h's inline helpers
   (hwloc_get_nbobjs_by_type, hwloc_get_obj_by_type). */
#define HWLOC_FUNCTIONS(F, V)                                                                                 \
    F(unsigned, hwloc_get_api_version, (void), ())                                                           \
    F(int, hwloc_topology_init, (T *topology), (topology))                                                   \
    F(int, hwloc_topology_load, (T topology), (topology))                                                    \
    V(hwloc_topology_destroy, (T topology), (topology))                                                      \
    F(int, hwloc_topology_set_io_types_filter, (T topology, enum hwloc_type_filter_e filter), (topology, filter)) \
    F(int, hwloc_get_type_depth, (T topology, hwloc_obj_type_t type), (topology, type))                      \
    F(unsigned, hwloc_get_nbobjs_by_depth, (T topology, int depth), (topology, depth))                       \
    F(hwloc_obj_t, hwloc_get_obj_by_depth, (T topology, int depth, unsigned idx), (topology, depth, idx))    \
    F(int, hwloc_bitmap_first, (hwloc_const_bitmap_t bitmap), (bitmap))                                      \
    F(int, hwloc_bitmap_next, (hwloc_const_bitmap_t bitmap, int prev), (bitmap, prev))

UD_ON_DEMAND(HWLOC_FUNCTIONS)

int ud_hwloc_load(char *error, size_t size) {
    /* Global: hwloc's plugins (hwloc_pci.so, which finds the GPUs, among them) resolve hwloc's functions from
       the libhwloc already loaded; loaded locally, every plugin fails with an undefined symbol. */
    if (ud_load_library("libhwloc.so.15", 1, names, slots, slot_count, error, size) != 0) return -1;
    /* The object structures these headers describe changed between major versions. */
    unsigned version = hwloc_get_api_version();
    if (version >> 16 != HWLOC_API_VERSION >> 16) {
        snprintf(error, size, "its API is %u.%u, not the %u.x udocker was built for", version >> 16, (version >> 8) & 0xff,
                 HWLOC_API_VERSION >> 16);
        return -1;
    }
    return 0;
}
