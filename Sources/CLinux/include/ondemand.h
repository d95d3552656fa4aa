#ifndef UDOCKER_ONDEMAND_H
#define UDOCKER_ONDEMAND_H
#include "clinux.h"

/* How an on-demand C target (CCurl, CArchive, CCrypto, CHwloc, CNuma) forwards to a library opened with dlopen.
   The target lists every function UdockerCore calls as LIST(F, V): F(return type, name, (parameters), (arguments)),
   V(name, (parameters), (arguments)) for void ones. UD_ON_DEMAND(LIST) then defines the slot table, the names to
   dlsym, and one hidden forwarder per function (hidden, so the library's calls to itself never come back here);
   ud_load_library(soname, global, names, slots, slot_count, …) fills the slots. */
#define UD_SLOT(ret, name, ...) slot_##name,
#define UD_VSLOT(name, ...) slot_##name,
#define UD_NAME(ret, name, ...) #name,
#define UD_VNAME(name, ...) #name,
#define UD_FORWARD(ret, name, params, args) \
    __attribute__((visibility("hidden"))) ret name params { return ((ret(*) params)slots[slot_##name]) args; }
#define UD_VFORWARD(name, params, args) \
    __attribute__((visibility("hidden"))) void name params { ((void(*) params)slots[slot_##name]) args; }
#define UD_ON_DEMAND(LIST) UD_ON_DEMAND_WITH(LIST, UD_NONE)
#define UD_NONE(X)
/* UNFORWARDED(X) lists functions that get a slot but no forwarder (variadic ones, called through the slot). */
#define UD_ON_DEMAND_WITH(LIST, UNFORWARDED)                                                 \
    enum { LIST(UD_SLOT, UD_VSLOT) UNFORWARDED(UD_VSLOT) slot_count };                      \
    static const char *const names[] = { LIST(UD_NAME, UD_VNAME) UNFORWARDED(UD_VNAME) };   \
    static void *slots[slot_count];                                                         \
    LIST(UD_FORWARD, UD_VFORWARD)
#endif
