#include "carchive.h"

#include <openssl/evp.h>

void *hops_sha256_new(void) {
  EVP_MD_CTX *context = EVP_MD_CTX_new();
  if (context && EVP_DigestInit_ex(context, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(context);
    return NULL;
  }
  return context;
}

void hops_sha256_update(void *context, const void *bytes, unsigned long length) {
  EVP_DigestUpdate((EVP_MD_CTX *)context, bytes, length);
}

void hops_sha256_finish(void *context, unsigned char *digest) {
  unsigned int length = 0;
  EVP_DigestFinal_ex((EVP_MD_CTX *)context, digest, &length);
  EVP_MD_CTX_free((EVP_MD_CTX *)context);
}
