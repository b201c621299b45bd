#define _GNU_SOURCE
#include "chops.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int hops_close_from(int first) {
  return (int)syscall(SYS_close_range, (unsigned)first, ~0U, 0);
}

struct spawn_args {
  const char *path;
  char *const *argv;
  char *const *envp;
  const int *fds;
  int nfds;
  const char *cwd;
  int new_session;
  int controlling_tty;
  int uid;
  int gid;
  int report_fd; /* write end of a CLOEXEC pipe: receives errno if exec fails */
  const void *filter; /* a seccomp BPF program to install just before execve, or NULL */
  size_t filter_length;
};

static void report_and_exit(int fd, int error) {
  ssize_t unused = write(fd, &error, sizeof error);
  (void)unused;
  _exit(127);
}

/* Runs in the child. Only async-signal-safe calls from here on. */
static int spawn_child(void *opaque) {
  struct spawn_args *a = opaque;
  int report = a->report_fd;

  /* Move every source descriptor above the target range first, so that dup2
     onto slot i can never clobber a source still needed for a later slot. */
  int high = a->nfds > report ? a->nfds : report + 1;
  int moved[16];
  if (a->nfds > 16) report_and_exit(report, EINVAL);
  for (int i = 0; i < a->nfds; i++) {
    if (a->fds[i] < 0) { moved[i] = -1; continue; }
    moved[i] = fcntl(a->fds[i], F_DUPFD_CLOEXEC, high);
    if (moved[i] < 0) report_and_exit(report, errno);
  }
  /* The report pipe must survive too; keep it above the target range. */
  if (report < a->nfds) {
    int r = fcntl(report, F_DUPFD_CLOEXEC, high);
    if (r < 0) report_and_exit(report, errno);
    report = r;
  }
  for (int i = 0; i < a->nfds; i++) {
    if (moved[i] < 0) {
      close(i); /* a slot without a source is closed, never inherited */
      continue;
    }
    if (dup2(moved[i], i) < 0) report_and_exit(report, errno);
  }
  /* Close everything above the target range except the report pipe, which is
     CLOEXEC and closes itself on a successful execve. Fail closed: a descriptor
     of the parent must never leak into the child. */
  if (report > a->nfds &&
      syscall(SYS_close_range, (unsigned)a->nfds, (unsigned)report - 1, 0) < 0)
    report_and_exit(report, errno);
  if (syscall(SYS_close_range, (unsigned)report + 1, ~0U, 0) < 0) report_and_exit(report, errno);

  /* The parent may ignore SIGPIPE or block signals; the child must not inherit that. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, NULL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  if (a->new_session && setsid() < 0) report_and_exit(report, errno);
  if (a->controlling_tty && ioctl(0, TIOCSCTTY, 0) < 0) report_and_exit(report, errno);
  if (a->uid >= 0) {
    gid_t group = (gid_t)a->gid;
    if (setgroups(1, &group) < 0 || setgid(group) < 0 || setuid((uid_t)a->uid) < 0) report_and_exit(report, errno);
  }
  if (a->cwd && chdir(a->cwd) < 0) report_and_exit(report, errno);
  /* Last, so everything above still runs unfiltered; execve itself is allowed.
     The caller has set no_new_privs, which an unprivileged filter requires. */
  if (a->filter) {
    struct sock_fprog program = {.len = (unsigned short)(a->filter_length / sizeof(struct sock_filter)),
                                 .filter = (struct sock_filter *)a->filter};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) < 0) report_and_exit(report, errno);
  }
  execve(a->path, a->argv, a->envp);
  report_and_exit(report, errno);
  return 127;
}

pid_t hops_spawn(const char *path, char *const argv[], char *const envp[],
                 const int *fds, int nfds, int clone_flags, const char *cwd,
                 int new_session, int *err) {
  return hops_spawn_tty(path, argv, envp, fds, nfds, clone_flags, cwd, new_session, 0, -1, -1, NULL, 0, err);
}

pid_t hops_spawn_tty(const char *path, char *const argv[], char *const envp[],
                     const int *fds, int nfds, int clone_flags, const char *cwd,
                     int new_session, int controlling_tty, int uid, int gid,
                     const void *filter, size_t filter_length, int *err) {
  *err = 0;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) { *err = errno; return -1; }

  struct spawn_args args = {path, argv, envp, fds, nfds, cwd, new_session, controlling_tty, uid, gid, pipefd[1],
                            filter, filter_length};

  /* The child gets a copy of our memory (no CLONE_VM), so a plain heap stack is fine. */
  const size_t stack_size = 256 * 1024;
  char *stack = malloc(stack_size);
  if (!stack) { *err = ENOMEM; close(pipefd[0]); close(pipefd[1]); return -1; }

  pid_t pid = clone(spawn_child, stack + stack_size, clone_flags | SIGCHLD, &args);
  int clone_errno = errno;
  free(stack);
  close(pipefd[1]);
  if (pid < 0) { *err = clone_errno; close(pipefd[0]); return -1; }

  int child_errno = 0;
  ssize_t n;
  do { n = read(pipefd[0], &child_errno, sizeof child_errno); } while (n < 0 && errno == EINTR);
  close(pipefd[0]);
  if (n == sizeof child_errno) {
    /* The child failed before execve: collect it so it does not linger as a zombie. */
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *err = child_errno;
    return -1;
  }
  return pid;
}

int hops_pivot_root(const char *new_root, const char *put_old) {
  return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int hops_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
