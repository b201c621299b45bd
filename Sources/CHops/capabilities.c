#define _GNU_SOURCE
#include "chops.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int last_cap(void) {
  /* The running kernel may know more capabilities than our headers. */
  /* When it cannot be read, try every possible number: dropping one the
     kernel does not know fails with EINVAL, which is tolerated below. */
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  int last = 63;
  if (f) {
    if (fscanf(f, "%d", &last) != 1) last = 63;
    fclose(f);
  }
  return last;
}

int hops_limit_capabilities(const int *keep, int nkeep) {
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++) {
    int kept = 0;
    for (int i = 0; i < nkeep; i++) if (keep[i] == cap) kept = 1;
    if (!kept && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return -errno;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -errno;

  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int i = 0; i < nkeep; i++) {
    int cap = keep[i];
    if (cap < 0 || cap > 63) return -EINVAL;
    data[cap / 32].effective |= 1U << (cap % 32);
    data[cap / 32].permitted |= 1U << (cap % 32);
    data[cap / 32].inheritable |= 1U << (cap % 32);
  }
  if (syscall(SYS_capset, &header, data) < 0) return -errno;
  return 0;
}
