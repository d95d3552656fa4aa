#ifndef UDOCKER_CCRYPTO_SHIM_H
#define UDOCKER_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#endif
