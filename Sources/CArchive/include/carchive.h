#ifndef CARCHIVE_H
#define CARCHIVE_H

/* What reading and checking images needs from C libraries: zlib and OpenSSL.
   Apart from CHops so that only HopsImage links them (hops' start loads
   neither). */

/// gzip-or-plain file reading through zlib (gzread passes plain files through).
void *hops_gz_open(const char *path);
/// Returns bytes read, 0 at end, -1 on error (then *message is set).
int hops_gz_read(void *file, void *buffer, unsigned length, const char **message);
void hops_gz_close(void *file);

/// SHA-256 through OpenSSL's EVP interface.
void *hops_sha256_new(void);
void hops_sha256_update(void *context, const void *bytes, unsigned long length);
/// Writes 32 bytes to `digest` and frees the context.
void hops_sha256_finish(void *context, unsigned char *digest);

#endif
