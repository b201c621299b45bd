#define _GNU_SOURCE
#include "chops.h"
#include "spawn_child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A request: the header, then SCM_RIGHTS with the descriptors in this order:
   the child's fds 0..nfds-1, the cgroup `tasks` files to join, the sync
   pipe's read end (with a user namespace), the report pipe's write end. */
struct zygote_request {
  int32_t clone_flags;
  int32_t nfds;
  int32_t njoin;
  int32_t has_sync;
  int32_t new_session;
};

int hops_zygote_channel(int fds[2]) {
  return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}

/* A fork that can make namespaces, with the daemon as the child's parent
   (CLONE_PARENT): it reaps and signals the child as one it spawned itself.
   The raw system call returns in the child on a copy of this very stack,
   as fork(2) does; glibc's fork cannot take clone flags. The zygote is
   single-threaded, so the copy holds no lock another thread had. */
static pid_t zygote_fork(int clone_flags) {
  return (pid_t)syscall(SYS_clone, (unsigned long)(clone_flags | CLONE_PARENT | SIGCHLD), 0, NULL, NULL, 0);
}

/* A mount point from /proc/self/mountinfo, its octal escapes (\040 for a
   space, ...) undone in place. */
static void unescape(char *path) {
  char *out = path;
  for (char *in = path; *in; in++) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
      *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
      in += 3;
    } else {
      *out++ = *in;
    }
  }
  *out = 0;
}

static int by_depth(const void *a, const void *b) {
  return (int)strlen(*(char *const *)b) - (int)strlen(*(char *const *)a);
}

/* Gives the zygote a mount namespace of its own with only what its children
   use before they pivot into their sandbox: /, /proc, /dev (the device nodes
   they bind) and /sys (the kernel lets a user namespace mount a sysfs only
   where one is fully visible). Each child's mount namespace is a copy of the
   zygote's, made at its fork and detached again at its pivot: with the
   host's 23 mounts here, or hundreds on a container host, that was work at
   every sandbox proportional to the host's mounts. Only with user namespaces:
   then every host path a sandbox sees comes to it as a descriptor the daemon
   opened. Best effort: if anything fails, the zygote keeps what it has. */
static void keep_only_essential_mounts(void) {
  if (unshare(CLONE_NEWNS) != 0) return;
  /* Private first: an unmount here must never reach the host's namespace. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return;
  FILE *info = fopen("/proc/self/mountinfo", "re");
  if (!info) return;
  char *paths[256];
  int count = 0;
  char line[4096];
  while (count < 256 && fgets(line, sizeof line, info)) {
    char point[4096];
    if (sscanf(line, "%*d %*d %*s %*s %4095s", point) != 1) continue;
    unescape(point);
    if (!strcmp(point, "/") || !strcmp(point, "/proc") || !strcmp(point, "/dev") || !strcmp(point, "/sys")) continue;
    paths[count] = strdup(point);
    if (paths[count]) count++;
  }
  fclose(info);
  /* Deepest first: a mount goes before the one it sits on. */
  qsort(paths, (size_t)count, sizeof paths[0], by_depth);
  for (int i = 0; i < count; i++) {
    umount2(paths[i], MNT_DETACH);
    free(paths[i]);
  }
}

static int thread_count(void) {
  DIR *tasks = opendir("/proc/self/task");
  if (!tasks) return -1;
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(tasks)) != NULL) if (entry->d_name[0] != '.') count++;
  closedir(tasks);
  return count;
}

int hops_zygote_serve(int channel, int minimal_mounts, int huge_code) {
  /* It ends with the daemon, whichever way the daemon ends: its end of the
     channel closes then, and the receive below reads end of file. (Not
     PR_SET_PDEATHSIG: that fires when the daemon's thread that started us
     ends, not the daemon.) */
  prctl(PR_SET_NAME, "hops-zygote", 0, 0, 0);
  /* Each child is a copy of this process with one thread, the caller: a lock
     another thread held would stay held in it forever. And glibc's record of
     the thread's id (and the Swift runtime's) in the child still names ours,
     harmless only while hops-init starts no thread of its own: hops-init
     must stay single-threaded. */
  if (thread_count() != 1) return -EDEADLK;
  /* Its code on huge pages (hops_code_on_huge_pages): then a child's
     fork copies five page-directory entries for it instead of a page-table
     entry for each 4 KiB page the zygote ran (about 1,150), its exit drops five
     instead of as many, it never faults on that code, and it runs it with a
     few TLB entries where it took hundreds; in a virtual machine each TLB miss
     walks two page tables. 50 sandboxes 10 at a time took about 4% less time
     on this 2-core machine. The price: the code is 10 MiB of the zygote's own
     memory, not the page cache's, shared by every child (never written). */
  if (huge_code) hops_code_on_huge_pages();
  /* What is left of its code on the file's pages: children start with its
     page-table entries (hops_share_code_with_children). */
  hops_share_code_with_children();
  if (minimal_mounts) keep_only_essential_mounts();
  for (;;) {
    struct zygote_request request;
    int fds[HOPS_MAX_PASSED_FDS];
    int count = 0;
    int n = hops_receive_with_fds(channel, &request, sizeof request, fds, &count);
    if (n == 0) return -EPIPE; /* the daemon closed its end: the zygote ends */
    if (n < 0) return n;
    int expected = request.nfds + request.njoin + (request.has_sync ? 1 : 0) + 1;
    int32_t answer;
    if (n != (int)sizeof request || request.nfds < 0 || request.nfds > 16 || request.njoin < 0 || count != expected) {
      for (int i = 0; i < count; i++) close(fds[i]);
      answer = -EINVAL;
    } else {
      struct spawn_args args;
      memset(&args, 0, sizeof args);
      args.fds = fds;
      args.nfds = request.nfds;
      args.new_session = request.new_session;
      args.uid = -1;
      args.gid = -1;
      args.join_fds = fds + request.nfds;
      args.njoin = request.njoin;
      args.sync_fd = request.has_sync ? fds[request.nfds + request.njoin] : -1;
      args.report_fd = fds[count - 1];
      pid_t pid = zygote_fork(request.clone_flags);
      if (pid == 0) {
        /* The child: set up as a spawned hops-init is before its execve (the
           zygote's channel and every other descriptor are closed there), then
           back into hops-init's main. A clean setup closes the report pipe:
           the daemon reads its end of file as success. */
        int report = hops_child_setup(&args);
        prctl(PR_SET_NAME, "hops-init", 0, 0, 0);
        close(report);
        return 0;
      }
      answer = pid < 0 ? -errno : pid;
      for (int i = 0; i < count; i++) close(fds[i]);
    }
    ssize_t sent;
    do { sent = send(channel, &answer, sizeof answer, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    if (sent != (ssize_t)sizeof answer) {
      /* The daemon is gone: a child it will never hear of must not run on. */
      int error = sent < 0 ? errno : EPIPE;
      if (answer > 0) kill(answer, SIGKILL);
      return -error;
    }
  }
}

pid_t hops_zygote_request(int channel, const int *fds, int nfds, const int *join_fds, int njoin, int clone_flags,
                          int new_session, int with_user_namespace, struct hops_zygote_pending *pending, int *err) {
  *err = 0;
  pending->report = pending->sync = -1;
  if (nfds + njoin + 2 > HOPS_MAX_PASSED_FDS) { *err = EINVAL; return -1; }
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) { *err = errno; return -1; }
  int sync[2] = {-1, -1};
  if (with_user_namespace && pipe2(sync, O_CLOEXEC) < 0) { *err = errno; close(report[0]); close(report[1]); return -1; }

  int passed[HOPS_MAX_PASSED_FDS];
  int count = 0;
  for (int i = 0; i < nfds; i++) passed[count++] = fds[i];
  for (int i = 0; i < njoin; i++) passed[count++] = join_fds[i];
  if (with_user_namespace) passed[count++] = sync[0];
  passed[count++] = report[1];
  struct zygote_request request = {clone_flags | (with_user_namespace ? CLONE_NEWUSER : 0), nfds, njoin,
                                   with_user_namespace ? 1 : 0, new_session};
  int sent = hops_send_with_fds(channel, &request, sizeof request, passed, count);
  close(report[1]);
  if (with_user_namespace) close(sync[0]);
  int32_t answer = 0;
  ssize_t got = -1;
  if (sent == (int)sizeof request) {
    do { got = recv(channel, &answer, sizeof answer, 0); } while (got < 0 && errno == EINTR);
  }
  if (got != (ssize_t)sizeof answer || answer < 0) {
    /* A dead zygote (EPIPE, end of file) or a refused request. */
    *err = sent < 0 ? -sent : got != (ssize_t)sizeof answer ? EPIPE : -answer;
    close(report[0]);
    if (with_user_namespace) close(sync[1]);
    return -1;
  }
  pending->report = report[0];
  pending->sync = sync[1];
  return (pid_t)answer;
}

int hops_zygote_finish(pid_t pid, const char *uid_map, const char *gid_map, struct hops_zygote_pending *pending) {
  int result = pending->sync >= 0 ? hops_release_child(pid, uid_map, gid_map, pending->sync) : 0;
  int child_error = 0;
  ssize_t r;
  do { r = read(pending->report, &child_error, sizeof child_error); } while (r < 0 && errno == EINTR);
  close(pending->report);
  if (result < 0 || r != 0) {
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return result < 0 ? result : -(r == (ssize_t)sizeof child_error ? child_error : EIO);
  }
  return 0;
}
