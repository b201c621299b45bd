// Escape attempts, run as hostile code inside a Hops sandbox by
// tests/integration/test_escape.py. Each attempt prints one line:
//   blocked <ERRNO or reason>   the attempt failed (exit 0)
//   ESCAPED <detail>            it worked (exit 1): a hole in the sandbox
// Every attempt is one whose success is harmless or undone at once, and none
// runs unless the program can prove it is inside a sandbox (guard below): if Hops
// had a hole, these calls would otherwise act on the host.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int blocked(const char *why) {
  printf("blocked %s\n", why);
  return 0;
}

static int blocked_errno(int error) {
  printf("blocked %s\n", strerrorname_np(error) ? strerrorname_np(error) : "?");
  return 0;
}

static int escaped(const char *detail) {
  printf("ESCAPED %s\n", detail);
  return 1;
}

// The host has a marker file the sandbox must not see, and a sandbox's PID 1 is
// hops-init. Both must hold before anything is tried.
static void guard(void) {
  const char *marker = getenv("HOPS_HOST_MARKER");
  char comm[64] = {0};
  int fd = open("/proc/1/comm", O_RDONLY);
  if (fd >= 0) {
    ssize_t n = read(fd, comm, sizeof comm - 1);
    (void)n;
    close(fd);
  }
  struct stat info;
  if (!marker || !*marker || stat(marker, &info) == 0 || strcmp(comm, "hops-init\n") != 0) {
    printf("NOT-SANDBOXED refusing to run\n");
    exit(99);
  }
}

static int marker_visible_at(const char *prefix) {
  char path[4096];
  snprintf(path, sizeof path, "%s%s", prefix, getenv("HOPS_HOST_MARKER"));
  struct stat info;
  return stat(path, &info) == 0;
}

// Returns the process's exit code from a call that should fail.
#define EXPECT_FAIL(call, undo)       \
  do {                                \
    long _r = (long)(call);           \
    if (_r < 0) return blocked_errno(errno); \
    undo;                             \
    return escaped(#call);            \
  } while (0)

static int attempt(const char *name, char **args) {
  if (!strcmp(name, "mount")) EXPECT_FAIL(mount("none", "/mnt", "tmpfs", 0, NULL), umount2("/mnt", MNT_DETACH));
  if (!strcmp(name, "umount")) EXPECT_FAIL(umount2("/proc", MNT_DETACH), (void)0);
  if (!strcmp(name, "pivot_root")) EXPECT_FAIL(syscall(SYS_pivot_root, "/tmp", "/tmp"), (void)0);
  if (!strcmp(name, "unshare-user")) EXPECT_FAIL(unshare(CLONE_NEWUSER), (void)0);
  if (!strcmp(name, "unshare-mount")) EXPECT_FAIL(unshare(CLONE_NEWNS), (void)0);
  if (!strcmp(name, "clone-user")) {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid < 0) return blocked_errno(errno);
    waitpid((pid_t)pid, NULL, 0);
    return escaped("clone(CLONE_NEWUSER)");
  }
  if (!strcmp(name, "setns")) {
    int fd = open("/proc/1/ns/mnt", O_RDONLY);
    if (fd < 0) return blocked_errno(errno);
    EXPECT_FAIL(setns(fd, 0), (void)0);
  }
  if (!strcmp(name, "ptrace-init")) EXPECT_FAIL(ptrace(PTRACE_ATTACH, 1, 0, 0), ptrace(PTRACE_DETACH, 1, 0, 0));
  if (!strcmp(name, "ptrace-host")) {
    pid_t host = (pid_t)atoi(args[0]);
    EXPECT_FAIL(ptrace(PTRACE_SEIZE, host, 0, 0), ptrace(PTRACE_DETACH, host, 0, 0));
  }
  if (!strcmp(name, "kill-host")) EXPECT_FAIL(kill((pid_t)atoi(args[0]), 0), (void)0);
  if (!strcmp(name, "proc-1-root")) {
    if (marker_visible_at("/proc/1/root")) return escaped("the host's file through /proc/1/root");
    return blocked("not-visible");
  }
  if (!strcmp(name, "kcore")) {
    int fd = open("/proc/kcore", O_RDONLY);
    if (fd < 0) return blocked_errno(errno);
    char byte;
    ssize_t n = read(fd, &byte, 1);
    if (n <= 0) return blocked(n == 0 ? "empty" : strerrorname_np(errno));
    return escaped("read /proc/kcore");
  }
  if (!strcmp(name, "module")) EXPECT_FAIL(syscall(SYS_finit_module, -1, "", 0), (void)0);
  if (!strcmp(name, "keyctl"))
    EXPECT_FAIL(syscall(SYS_add_key, "user", "hops-escape", "x", 1, KEY_SPEC_PROCESS_KEYRING), (void)0);
  if (!strcmp(name, "bpf")) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    EXPECT_FAIL(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr), (void)0);
  }
  if (!strcmp(name, "perf")) EXPECT_FAIL(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), (void)0);
  if (!strcmp(name, "raw-socket")) {
    int fd = socket(AF_INET, SOCK_RAW, 1);
    if (fd < 0) return blocked_errno(errno);
    close(fd);
    return escaped("socket(AF_INET, SOCK_RAW)");
  }
  if (!strcmp(name, "packet-socket")) {
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) return blocked_errno(errno);
    close(fd);
    return escaped("socket(AF_PACKET, SOCK_RAW)");
  }
  if (!strcmp(name, "write-sys")) {
    // Opening for writing is the attempt; nothing is written.
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_WRONLY);
    if (fd < 0) return blocked_errno(errno);
    close(fd);
    return escaped("opened a /sys file for writing");
  }
  if (!strcmp(name, "write-proc-sys")) {
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0) return blocked_errno(errno);
    close(fd);
    return escaped("opened /proc/sys/vm/drop_caches for writing");
  }
  if (!strcmp(name, "sysrq")) {
    int fd = open("/proc/sysrq-trigger", O_WRONLY);
    if (fd < 0) return blocked_errno(errno);
    struct stat info;
    fstat(fd, &info);
    close(fd);
    if (S_ISCHR(info.st_mode) && info.st_rdev == makedev(1, 3)) return blocked("masked");
    return escaped("opened /proc/sysrq-trigger for writing");
  }
  if (!strcmp(name, "mknod")) EXPECT_FAIL(mknod("/tmp/hops-escape-sda", S_IFBLK | 0600, makedev(8, 0)), unlink("/tmp/hops-escape-sda"));
  if (!strcmp(name, "dev-mem")) {
    int fd = open("/dev/mem", O_RDONLY);
    if (fd < 0) return blocked_errno(errno);
    close(fd);
    return escaped("opened /dev/mem");
  }
  if (!strcmp(name, "setuid-bit")) {
    // Make a setuid copy of ourselves: the filter refuses the bit.
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open(args[0], O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) return blocked_errno(errno);
    char buffer[65536];
    ssize_t n;
    while ((n = read(in, buffer, sizeof buffer)) > 0) {
      if (write(out, buffer, (size_t)n) != n) return blocked_errno(errno);
    }
    close(in);
    close(out);
    EXPECT_FAIL(chmod(args[0], 04755), chmod(args[0], 0755));
  }
  if (!strcmp(name, "setuid-exec")) {
    // A setuid-root file the host put in the workspace: run it as a user.
    if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0) return blocked_errno(errno);
    execl(args[0], args[0], "whoami", (char *)NULL);
    return blocked_errno(errno);
  }
  if (!strcmp(name, "whoami")) {
    if (geteuid() == 0) return escaped("euid 0 through a setuid file");
    return blocked("euid-stays-user");
  }
  if (!strcmp(name, "dotdot")) {
    if (marker_visible_at("/workspace/../../../../../../..")) return escaped("the host's file through ..");
    return blocked("not-visible");
  }
  if (!strcmp(name, "symlink")) {
    unlink("/workspace/hops-escape-root");
    if (symlink("/", "/workspace/hops-escape-root") < 0) return blocked_errno(errno);
    int seen = marker_visible_at("/workspace/hops-escape-root");
    unlink("/workspace/hops-escape-root");
    if (seen) return escaped("the host's file through a symlink in the workspace");
    return blocked("not-visible");
  }
  if (!strcmp(name, "hardlink-denied")) {
    // The denied file is masked; a hard link to it must not reach its data.
    unlink("/workspace/hops-escape-link");
    if (link(args[0], "/workspace/hops-escape-link") < 0) return blocked_errno(errno);
    char buffer[256] = {0};
    int fd = open("/workspace/hops-escape-link", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buffer, sizeof buffer - 1) : -1;
    unlink("/workspace/hops-escape-link");
    if (n > 0 && strstr(buffer, "denied-secret")) return escaped("read a denied file through a hard link");
    return blocked("no-data");
  }
  if (!strcmp(name, "chroot")) {
    mkdir("/tmp/hops-escape-jail", 0700);
    if (chroot("/tmp/hops-escape-jail") < 0) return blocked_errno(errno);
    for (int i = 0; i < 64; i++) { if (chdir("..") < 0) break; }
    if (chroot(".") < 0) return blocked_errno(errno);
    if (marker_visible_at("")) return escaped("the host's root through a chroot escape");
    return blocked("sandbox-root-only");
  }
  if (!strcmp(name, "open-by-handle")) EXPECT_FAIL(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY), (void)0);
  if (!strcmp(name, "userfaultfd")) EXPECT_FAIL(syscall(SYS_userfaultfd, 0), (void)0);
  if (!strcmp(name, "io-uring")) EXPECT_FAIL(syscall(SYS_io_uring_setup, 1, NULL), (void)0);
  if (!strcmp(name, "iopl")) EXPECT_FAIL(syscall(SYS_iopl, 3), syscall(SYS_iopl, 0));
  if (!strcmp(name, "clock")) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    EXPECT_FAIL(clock_settime(CLOCK_REALTIME, &now), (void)0);
  }
  if (!strcmp(name, "setcap")) {
    // File capabilities on a workspace file would outlive the sandbox on the host.
    static const unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02};  // VFS_CAP_REVISION_2, no bits
    int fd = open("/workspace/hops-escape-cap", O_WRONLY | O_CREAT, 0755);
    if (fd < 0) return blocked_errno(errno);
    long r = syscall(SYS_fsetxattr, fd, "security.capability", cap, sizeof cap, 0);
    int error = errno;
    close(fd);
    unlink("/workspace/hops-escape-cap");
    if (r < 0) return blocked_errno(error);
    return escaped("set file capabilities");
  }
  if (!strcmp(name, "icmp-echo")) {
    // Not an attempt: what ping needs without CAP_NET_RAW (an ICMP datagram
    // socket), which the sandbox should have when it has a network.
    int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (fd < 0) return blocked_errno(errno);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    unsigned char echo[8] = {8, 0, 0, 0, 0, 0, 0, 1};
    unsigned char reply[64];
    if (sendto(fd, echo, sizeof echo, 0, (struct sockaddr *)&to, sizeof to) < 0) return blocked_errno(errno);
    struct timeval wait = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    if (recv(fd, reply, sizeof reply, 0) < 0) return blocked_errno(errno);
    printf("blocked echo-replied\n");
    return 0;
  }
  printf("unknown attempt %s\n", name);
  return 2;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "whoami")) return attempt("whoami", NULL);
  guard();
  if (argc < 2) {
    printf("usage: escape ATTEMPT [ARG]\n");
    return 2;
  }
  fflush(stdout);
  int code = attempt(argv[1], argv + 2);
  fflush(stdout);
  return code;
}
