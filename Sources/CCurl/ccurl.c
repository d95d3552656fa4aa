#include "ccurl.h"
#include "ondemand.h"

/* Every libcurl function UdockerCore calls: F(return type, name, parameters, arguments); V for void ones. */
#define CURL_FUNCTIONS(F, V)                                                                                  \
    F(CURLcode, curl_global_init, (long flags), (flags))                                                     \
    F(CURL *, curl_easy_init, (void), ())                                                                    \
    V(curl_easy_cleanup, (CURL *h), (h))                                                                     \
    V(curl_easy_reset, (CURL *h), (h))                                                                       \
    F(CURLcode, curl_easy_perform, (CURL *h), (h))                                                           \
    F(const char *, curl_easy_strerror, (CURLcode code), (code))                                             \
    F(struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *text), (list, text))     \
    V(curl_slist_free_all, (struct curl_slist *list), (list))                                                \
    F(CURLM *, curl_multi_init, (void), ())                                                                  \
    F(CURLMcode, curl_multi_cleanup, (CURLM *m), (m))                                                        \
    F(CURLMcode, curl_multi_add_handle, (CURLM *m, CURL *h), (m, h))                                         \
    F(CURLMcode, curl_multi_remove_handle, (CURLM *m, CURL *h), (m, h))                                      \
    F(CURLMcode, curl_multi_perform, (CURLM *m, int *running), (m, running))                                 \
    F(CURLMsg *, curl_multi_info_read, (CURLM *m, int *queued), (m, queued))                                 \
    F(CURLMcode, curl_multi_poll, (CURLM *m, struct curl_waitfd fds[], unsigned int n, int ms, int *count),  \
      (m, fds, n, ms, count))                                                                                \
    F(const char *, curl_multi_strerror, (CURLMcode code), (code))

/* The variadic ones, called only through the typed wrappers. */
#define CURL_VARIADIC(X) X(curl_easy_setopt) X(curl_easy_getinfo) X(curl_multi_setopt)

UD_ON_DEMAND_WITH(CURL_FUNCTIONS, CURL_VARIADIC)

int ud_curl_load(char *error, size_t size) {
    return ud_load_library("libcurl.so.4", 0, names, slots, slot_count, error, size);
}

#define SETOPT(h, o, v) ((CURLcode(*)(CURL *, CURLoption, ...))slots[slot_curl_easy_setopt])(h, o, v)
#define GETINFO(h, i, v) ((CURLcode(*)(CURL *, CURLINFO, ...))slots[slot_curl_easy_getinfo])(h, i, v)

CURLcode ud_curl_setopt_long(CURL *h, CURLoption o, long v) { return SETOPT(h, o, v); }
CURLcode ud_curl_setopt_str(CURL *h, CURLoption o, const char *v) { return SETOPT(h, o, v); }
CURLcode ud_curl_setopt_ptr(CURL *h, CURLoption o, void *v) { return SETOPT(h, o, v); }
CURLcode ud_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return SETOPT(h, o, v); }
CURLcode ud_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return SETOPT(h, o, v); }
CURLcode ud_curl_setopt_write(CURL *h, ud_curl_data_cb cb) { return SETOPT(h, CURLOPT_WRITEFUNCTION, cb); }
CURLcode ud_curl_setopt_header(CURL *h, ud_curl_data_cb cb) { return SETOPT(h, CURLOPT_HEADERFUNCTION, cb); }
CURLcode ud_curl_setopt_xferinfo(CURL *h, ud_curl_xferinfo_cb cb) { return SETOPT(h, CURLOPT_XFERINFOFUNCTION, cb); }

CURLcode ud_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return GETINFO(h, i, v); }
CURLcode ud_curl_getinfo_str(CURL *h, CURLINFO i, char **v) { return GETINFO(h, i, v); }
CURLcode ud_curl_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return GETINFO(h, i, v); }
CURLcode ud_curl_getinfo_ptr(CURL *h, CURLINFO i, void **v) { return GETINFO(h, i, v); }

CURLMcode ud_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) {
    return ((CURLMcode(*)(CURLM *, CURLMoption, ...))slots[slot_curl_multi_setopt])(m, o, v);
}
