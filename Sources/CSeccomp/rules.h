// The argument rules of the sandbox's filter, shared by both compilers of it
// (seccomp.c with libseccomp, program.c by hand), so that they cannot differ.
#ifndef HOPS_SECCOMP_RULES_H
#define HOPS_SECCOMP_RULES_H

#include <sched.h>
#include <string.h>
#include <sys/stat.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// Every namespace flag: clone may make threads and processes, never namespaces.
static const unsigned long namespace_flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                             CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME;

// Only the harmless personas: Linux, and the 32-bit and uname tweaks;
// 0xffffffff only asks which persona is set.
static const unsigned long harmless_personas[] = {0x0, 0x0008, 0x20000, 0x20008, 0xffffffff};

// Which argument of each mode-setting call holds the mode, or -1.
static int mode_argument(const char *name) {
  static const struct { const char *name; int argument; } calls[] = {
      {"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}, {"mknod", 1},
      {"mknodat", 2}, {"open", 2}, {"openat", 3}, {"creat", 1},
  };
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    if (strcmp(name, calls[i].name) == 0) return calls[i].argument;
  }
  return -1;
}

// The bits a mode must not have (see HOPS_SECCOMP_SETUID_BITS).
static const unsigned long set_id_bits = S_ISUID | S_ISGID;

#endif
