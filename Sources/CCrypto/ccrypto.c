#include "ccrypto.h"
#include "ondemand.h"

/* Every libcrypto function UdockerCore calls (streaming SHA-256 through EVP). */
#define CRYPTO_FUNCTIONS(F, V)                                                                                \
    F(EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())                                                              \
    V(EVP_MD_CTX_free, (EVP_MD_CTX *c), (c))                                                                 \
    F(const EVP_MD *, EVP_sha256, (void), ())                                                                \
    F(int, EVP_DigestInit_ex, (EVP_MD_CTX *c, const EVP_MD *type, ENGINE *impl), (c, type, impl))            \
    F(int, EVP_DigestUpdate, (EVP_MD_CTX *c, const void *data, size_t count), (c, data, count))             \
    F(int, EVP_DigestFinal_ex, (EVP_MD_CTX *c, unsigned char *md, unsigned int *size), (c, md, size))

UD_ON_DEMAND(CRYPTO_FUNCTIONS)

int ud_crypto_load(char *error, size_t size) {
    return ud_load_library("libcrypto.so.3", 0, names, slots, slot_count, error, size);
}
