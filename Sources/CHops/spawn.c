#define _GNU_SOURCE
#include "chops.h"
#include "spawn_child.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pthread.h>
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

/* Runs in the child. Only async-signal-safe calls from here on. */
int hops_child_setup(struct spawn_args *a) {
  int report = a->report_fd;

  /* Join the sandbox's cgroups first. A single-threaded process that moves
     itself through a v1 `tasks` file skips the kernel's global threadgroup
     lock, whose write side waits for an RCU grace period (7 to 30 ms here) and
     stalls every fork on the host meanwhile; the parent writing our pid into
     `cgroup.procs` takes it. The descriptors were opened by the daemon, and
     the kernel checks the opener's credentials, so this works from inside the
     new user namespace too. */
  for (int i = 0; i < a->njoin; i++) {
    ssize_t n;
    do { n = write(a->join_fds[i], "0", 1); } while (n < 0 && errno == EINTR);
    if (n != 1) report_and_exit(report, n < 0 ? errno : EIO);
  }

  /* In a new user namespace, wait for the parent to write our uid and gid maps,
     then become the namespace's root: execve keeps the capabilities (in that
     namespace only) of a process that is root there. */
  if (a->sync_fd >= 0) {
    char byte;
    ssize_t n;
    do { n = read(a->sync_fd, &byte, 1); } while (n < 0 && errno == EINTR);
    if (n != 1) report_and_exit(report, EPROTO);
    close(a->sync_fd);
    /* Raw system calls: glibc's set*id wrappers signal every thread the parent
       had (the child has none of them) under a lock another parent thread may
       have held at clone time, and would hang. */
    if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setgroups, 0, NULL) < 0 ||
        syscall(SYS_setresuid, 0, 0, 0) < 0)
      report_and_exit(report, errno);
  }

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
    if (syscall(SYS_setgroups, 1, &group) < 0 || syscall(SYS_setresgid, group, group, group) < 0 ||
        syscall(SYS_setresuid, a->uid, a->uid, a->uid) < 0)
      report_and_exit(report, errno);
  }
  if (a->cwd && chdir(a->cwd) < 0) report_and_exit(report, errno);
  return report;
}

static int spawn_child(void *opaque) {
  struct spawn_args *a = opaque;
  int report = hops_child_setup(a);
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
  return hops_spawn_tty(path, argv, envp, fds, nfds, clone_flags, cwd, new_session, 0, -1, -1, NULL, 0, NULL, 0, err);
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t length = (ssize_t)strlen(text);
  ssize_t n = write(fd, text, (size_t)length);
  int error = errno;
  close(fd);
  return n == length ? 0 : -(n < 0 ? error : EIO);
}

int hops_release_child(pid_t pid, const char *uid_map, const char *gid_map, int sync_fd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  int result = write_file(path, uid_map);
  if (result == 0) {
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    result = write_file(path, gid_map);
  }
  if (result == 0) {
    ssize_t n;
    do { n = write(sync_fd, "m", 1); } while (n < 0 && errno == EINTR);
    if (n != 1) result = -ECHILD; /* the child is gone */
  }
  close(sync_fd);
  return result;
}

static pid_t spawn(struct spawn_args *args, int clone_flags, const char *uid_map, const char *gid_map, int *err);

pid_t hops_spawn_userns(const char *path, char *const argv[], char *const envp[],
                        const int *fds, int nfds, int clone_flags, int new_session,
                        const char *uid_map, const char *gid_map, const int *join_fds, int njoin, int *err) {
  struct spawn_args args = {path, argv, envp, fds, nfds, NULL, new_session, 0, -1, -1, -1, NULL, 0, -1, join_fds, njoin};
  return spawn(&args, clone_flags | CLONE_NEWUSER, uid_map, gid_map, err);
}

pid_t hops_spawn_tty(const char *path, char *const argv[], char *const envp[],
                     const int *fds, int nfds, int clone_flags, const char *cwd,
                     int new_session, int controlling_tty, int uid, int gid,
                     const void *filter, size_t filter_length, const int *join_fds, int njoin, int *err) {
  struct spawn_args args = {path, argv, envp, fds, nfds, cwd, new_session, controlling_tty, uid, gid, -1,
                            filter, filter_length, -1, join_fds, njoin};
  return spawn(&args, clone_flags, NULL, NULL, err);
}

static pid_t spawn(struct spawn_args *args, int clone_flags, const char *uid_map, const char *gid_map, int *err) {
  *err = 0;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) { *err = errno; return -1; }
  int syncfd[2] = {-1, -1};
  if (uid_map && pipe2(syncfd, O_CLOEXEC) < 0) { *err = errno; close(pipefd[0]); close(pipefd[1]); return -1; }
  args->report_fd = pipefd[1];
  args->sync_fd = syncfd[0];

  /* The child shares our memory until its execve (CLONE_VM, as posix_spawn
     does): copying the page tables of a large process (the daemon) and
     tearing them down again at the exec cost more than the rest of a spawn.
     Not CLONE_VFORK: the parent must write the child's uid map while the child
     waits. So the child runs on a stack of its own, freed only once it has
     exec'd or died; of ours it touches `args` (alive until then) and the
     calling thread's errno (so nothing below trusts errno across the wait).
     Every signal is blocked across the clone, so no handler of ours ever runs
     in the child (it resets them all before unblocking).
     Not when the child takes another user (`uid`): changing credentials resets
     the "dumpable" flag of the memory it is on, and hops-init, which spawns
     commands as users, must stay non-dumpable. (Becoming root of a new user
     namespace makes the daemon non-dumpable, which changes nothing for a
     process only root may ptrace anyway.) */
  int share_memory = args->uid < 0 ? CLONE_VM : 0;
  const size_t stack_size = 256 * 1024;
  char *stack = malloc(stack_size);
  if (!stack) { *err = ENOMEM; close(pipefd[0]); close(pipefd[1]); if (uid_map) { close(syncfd[0]); close(syncfd[1]); } return -1; }

  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &saved);
  pid_t pid = clone(spawn_child, stack + stack_size, clone_flags | share_memory | SIGCHLD, args);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  close(pipefd[1]);
  if (uid_map) close(syncfd[0]);
  if (pid < 0) { free(stack); *err = clone_errno; close(pipefd[0]); if (uid_map) close(syncfd[1]); return -1; }

  if (uid_map) {
    int result = hops_release_child(pid, uid_map, gid_map, syncfd[1]);
    if (result < 0) {
      kill(pid, SIGKILL);
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno != ECHILD) {}
      free(stack);
      close(pipefd[0]);
      *err = -result;
      return -1;
    }
  }

  /* End of file: the child exec'd (the pipe is CLOEXEC) and left our memory;
     an errno: it failed first. */
  int child_errno = 0;
  ssize_t n;
  /* Any failure is taken for an interruption: the child may have changed the
     errno we would look at, and its stack must not be freed before this read
     has seen it exec or die. */
  do { n = read(pipefd[0], &child_errno, sizeof child_errno); } while (n < 0);
  close(pipefd[0]);
  if (n == sizeof child_errno) {
    /* The child failed before execve: collect it so it does not linger as a zombie. */
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno != ECHILD) {}
    free(stack);
    *err = child_errno;
    return -1;
  }
  free(stack);
  return pid;
}

int hops_pivot_root(const char *new_root, const char *put_old) {
  return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int hops_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
