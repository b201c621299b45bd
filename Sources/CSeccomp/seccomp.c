// The sandbox's seccomp filter as libseccomp compiles it: the reference the
// daemon's own, shorter program (program.c) is checked against, call by call
// (SeccompTests), and what the daemon falls back to should that one fail.
// hops-init only installs a finished BPF program (in each child, just before
// execve), so it needs no libseccomp of its own.
#define _GNU_SOURCE
#include "cseccomp.h"
#include "rules.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static int fail(char *message, size_t size, int error, const char *what) {
  snprintf(message, size, "%s: %s", what, strerror(error));
  return -error;
}

int hops_seccomp_resolve(const char *name) {
  int nr = seccomp_syscall_resolve_name(name);
  return nr == __NR_SCMP_ERROR ? -1 : nr;
}

int hops_seccomp_compile_libseccomp(const char *const *allowed, int count, int flags, void **program, size_t *length,
                         char *message, size_t message_size) {
  *program = NULL;
  *length = 0;
  // Anything not allowed fails with EPERM: programs see an error they handle,
  // not a crash. Other architectures' calls (32-bit int 0x80, x32) as well.
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!ctx) return fail(message, message_size, ENOMEM, "seccomp_init");
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
  if (rc < 0) goto error;
  // A binary tree of syscall numbers, not a list: each call the sandbox makes
  // walks a few comparisons, and so does the kernel when it installs the
  // filter (it runs it for every syscall number to build its cache of
  // always-allowed calls, with interrupts off): about 0.1 ms there, not 0.3.
  // (libseccomp 2.5 or later; Debian 12 has 2.5.4.)
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc < 0) goto error;
  for (int i = 0; i < count; i++) {
    const char *name = allowed[i];
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not a syscall of this architecture
    if (strcmp(name, "clone") == 0) {
      rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, namespace_flags, 0));
    } else if (strcmp(name, "clone3") == 0) {
      // Its flags are behind a pointer, which a filter cannot read: ENOSYS
      // makes the C library fall back to clone, whose flags it can.
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    } else if (!(flags & HOPS_SECCOMP_SETUID_BITS) && mode_argument(name) >= 0) {
      // A setuid file the sandbox makes in its workspace would be a setuid file
      // on the host: such modes are refused.
      struct scmp_arg_cmp no_set_id = {(unsigned)mode_argument(name), SCMP_CMP_MASKED_EQ, set_id_bits, 0};
      rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &no_set_id);
    } else if (!(flags & HOPS_SECCOMP_SETUID_BITS) && strcmp(name, "openat2") == 0) {
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    } else if (strcmp(name, "personality") == 0) {
      // Only the harmless personas: Linux, and the 32-bit and uname tweaks.
      for (size_t p = 0; p < sizeof harmless_personas / sizeof harmless_personas[0] && rc >= 0; p++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, harmless_personas[p]));
      }
    } else {
      rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
    if (rc < 0) {
      snprintf(message, message_size, "seccomp rule for %s: %s", name, strerror(-rc));
      seccomp_release(ctx);
      return rc;
    }
  }
  // libseccomp writes the program to a descriptor; a memfd brings it back.
  int fd = memfd_create("hops-seccomp", MFD_CLOEXEC);
  if (fd < 0) { rc = -errno; goto error; }
  rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) { close(fd); goto error; }
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || lseek(fd, 0, SEEK_SET) < 0) { rc = -EIO; close(fd); goto error; }
  void *bytes = malloc((size_t)size);
  if (!bytes) { rc = -ENOMEM; close(fd); goto error; }
  ssize_t got = pread(fd, bytes, (size_t)size, 0);
  close(fd);
  if (got != size) { free(bytes); rc = -EIO; goto error; }
  seccomp_release(ctx);
  *program = bytes;
  *length = (size_t)size;
  return 0;
error:
  seccomp_release(ctx);
  return fail(message, message_size, -rc, "seccomp");
}

int hops_seccomp_try(const void *program, size_t length, long nr, long a0, long a1, long a2) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    struct sock_fprog prog = {.len = (unsigned short)(length / sizeof(struct sock_filter)),
                              .filter = (struct sock_filter *)program};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(254);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) _exit(253);
    long result = syscall(nr, a0, a1, a2, 0, 0, 0);
    _exit(result < 0 ? (errno & 0x7f) : 0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}
