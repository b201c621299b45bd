#ifndef CSECCOMP_H
#define CSECCOMP_H

#include <stddef.h>
#include <stdint.h>

/// Compiles the sandbox's seccomp filter for the native architecture:
/// `allowed` syscalls (names) are allowed, everything else fails with EPERM,
/// and a few get argument rules (see rules.h). Names this architecture does
/// not have are skipped. On success returns 0 and a malloc'd BPF program
/// (struct sock_filter[]) in `*program`, its size in bytes in `*length`; the
/// caller frees it. On failure returns -errno and a message in `message`.
/// Written by hand as ranges of syscall numbers (program.c); decides as the
/// one libseccomp writes (`hops_seccomp_compile_libseccomp`), which is longer.
///
/// Unless `flags` has HOPS_SECCOMP_SETUID_BITS, the calls that set a file's mode
/// (chmod, fchmod, fchmodat, fchmodat2, mknod, mknodat, open, openat, creat) fail
/// with EPERM when the mode has the setuid or setgid bit, and openat2 (whose
/// mode a filter cannot read) says ENOSYS.
#define HOPS_SECCOMP_SETUID_BITS 1
int hops_seccomp_compile(const char *const *allowed, int count, int flags, void **program, size_t *length,
                         char *message, size_t message_size);
/// The same filter as libseccomp compiles it: the reference, and the fallback.
int hops_seccomp_compile_libseccomp(const char *const *allowed, int count, int flags, void **program, size_t *length,
                                    char *message, size_t message_size);

/// For tests: runs `program` on a seccomp_data with `arch`, `nr` and six
/// `args`, and returns its action (SECCOMP_RET_*), or
/// HOPS_SECCOMP_EVALUATE_INVALID for an instruction it does not know or a
/// program that ends without one.
#define HOPS_SECCOMP_EVALUATE_INVALID 0xfffffffeu
uint32_t hops_seccomp_evaluate(const void *program, size_t length, uint32_t arch, int nr, const uint64_t *args);

/// The syscall number of `name` on this architecture, or -1.
int hops_seccomp_resolve(const char *name);

/// For tests: in a child process, sets no_new_privs, installs `program`, makes
/// syscall `nr` with the given arguments and reports how it went. Returns 0 if
/// the call succeeded, the errno it failed with, or -1 if the child died.
int hops_seccomp_try(const void *program, size_t length, long nr, long a0, long a1, long a2);

#endif
