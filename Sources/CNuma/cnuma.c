#include "cnuma.h"
#include "ondemand.h"

/* Every libnuma function UdockerCore calls. */
#define NUMA_FUNCTIONS(F, V)                                                                                  \
    F(int, numa_available, (void), ())                                                                       \
    F(int, numa_num_configured_nodes, (void), ())                                                            \
    F(int, numa_node_of_cpu, (int cpu), (cpu))

UD_ON_DEMAND(NUMA_FUNCTIONS)

int ud_numa_load(char *error, size_t size) {
    return ud_load_library("libnuma.so.1", 0, names, slots, slot_count, error, size);
}
