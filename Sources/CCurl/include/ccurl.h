#ifndef UDOCKER_CCURL_H
#define UDOCKER_CCURL_H
#include <curl/curl.h>
#include <stddef.h>

/* libcurl is not linked: it is opened by ud_curl_load the first time a command needs it, so commands that never
   transfer anything (run, ps, images, the launcher) start without it and its ~40 libraries, and work on a node
   that does not have it. The curl_* functions UdockerCore calls are defined in ccurl.c as forwarders to the
   loaded library (hidden, so libcurl's calls to itself never come back here); call ud_curl_load first. */

/* 0 once libcurl.so.4 is loaded with every function below; -1 with the reason in `error`. Not thread-safe:
   Swift calls it once (CurlRuntime). */
int ud_curl_load(char *error, size_t size);

/* curl_easy_setopt / curl_easy_getinfo / curl_multi_setopt are variadic: Swift cannot call them, so these typed
   wrappers are the only way Swift code sets options. */
CURLcode ud_curl_setopt_long(CURL *h, CURLoption o, long v);
CURLcode ud_curl_setopt_str(CURL *h, CURLoption o, const char *v);
CURLcode ud_curl_setopt_ptr(CURL *h, CURLoption o, void *v);
CURLcode ud_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v);
CURLcode ud_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v);

typedef size_t (*ud_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*ud_curl_xferinfo_cb)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
CURLcode ud_curl_setopt_write(CURL *h, ud_curl_data_cb cb);
CURLcode ud_curl_setopt_header(CURL *h, ud_curl_data_cb cb);
CURLcode ud_curl_setopt_xferinfo(CURL *h, ud_curl_xferinfo_cb cb);

CURLcode ud_curl_getinfo_long(CURL *h, CURLINFO i, long *v);
CURLcode ud_curl_getinfo_str(CURL *h, CURLINFO i, char **v);
CURLcode ud_curl_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v);
CURLcode ud_curl_getinfo_ptr(CURL *h, CURLINFO i, void **v);

CURLMcode ud_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v);
#endif
