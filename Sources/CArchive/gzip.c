#include "carchive.h"

#include <zlib.h>

void *hops_gz_open(const char *path) { return gzopen(path, "rb"); }

int hops_gz_read(void *file, void *buffer, unsigned length, const char **message) {
  int n = gzread((gzFile)file, buffer, length);
  if (n < 0) {
    int code = 0;
    *message = gzerror((gzFile)file, &code);
  }
  return n;
}

void hops_gz_close(void *file) { gzclose((gzFile)file); }
