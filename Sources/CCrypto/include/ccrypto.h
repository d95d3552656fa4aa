#ifndef UDOCKER_CCRYPTO_H
#define UDOCKER_CCRYPTO_H
#include <openssl/evp.h>
#include <stddef.h>

/* libcrypto is not linked: loading it costs about a millisecond at every start, and only the commands that hash
   (pull, load, import, verify, save, …) need it. The EVP_* functions UdockerCore calls are forwarders defined in
   ccrypto.c (see ondemand.h); call ud_crypto_load first. */

/* 0 once libcrypto.so.3 is loaded with every function UdockerCore calls; -1 with the reason in `error`.
   Not thread-safe: Swift calls it once (CryptoRuntime). */
int ud_crypto_load(char *error, size_t size);
#endif
