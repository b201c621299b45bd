// `hops`: a small front that starts in a third of a millisecond. The common
// run (see CFront's front.h) goes straight to the daemon from here; every
// other command line, and that run when it cannot go direct, is handed whole
// to the full command line, `hops-cli`, beside this executable.
#define _GNU_SOURCE
#include "front.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  struct hops_quick_run run;
  if (hops_quick_run_parse(argc - 1, argv + 1, &run) == 1) {
    int code;
    int ran = hops_quick_run_start(&run, &code);
    hops_quick_run_free(&run);
    if (ran) return code;
  }
  // Only ever the hops-cli beside us: never one found in the current
  // directory or on PATH.
  char path[4096 + 16];
  ssize_t n = readlink("/proc/self/exe", path, 4096);
  char *slash = n > 0 ? memrchr(path, '/', (size_t)n) : NULL;
  if (!slash) {
    fprintf(stderr, "hops: cannot find where hops is installed (/proc/self/exe): is /proc mounted?\n");
    return 125;
  }
  strcpy(slash + 1, "hops-cli");
  execv(path, argv);
  fprintf(stderr, "hops: cannot run %s: %s (build it with 'swift build', or reinstall Hops)\n", path, strerror(errno));
  return 125;
}
