// Detached mounts (the new mount API): the daemon builds a sandbox's mounts
// outside the sandbox, where it has the privileges they need (idmapping host
// directories, overlayfs with trusted xattrs), and hands them to hops-init,
// which attaches them inside its user namespace with move_mount.
#define _GNU_SOURCE
#include "chops.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int hops_open_tree(const char *path, int recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  long fd = syscall(SYS_open_tree, AT_FDCWD, path, flags);
  return fd < 0 ? -errno : (int)fd;
}

int hops_open_tree_fd(int fd, int recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  long result = syscall(SYS_open_tree, fd, "", flags);
  return result < 0 ? -errno : (int)result;
}

int hops_mount_setattr(int fd, int recursive, unsigned long long set, unsigned long long clear, int userns_fd) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = set;
  attr.attr_clr = clear;
  /* Private, whatever the original was: a copy made with open_tree joins
     the peer group of a shared original (systemd makes / shared), and then
     every mount made on it in a sandbox would show up on the host too (a
     policy's mount below /workspace on the host's workspace directory), and
     pivot_root refuses a new root whose parent is shared. */
  attr.propagation = MS_PRIVATE;
  if (userns_fd >= 0) {
    attr.attr_set |= MOUNT_ATTR_IDMAP;
    attr.userns_fd = (unsigned long long)userns_fd;
  }
  long r = syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
  return r < 0 ? -errno : 0;
}

int hops_overlay_mount(const char *lowerdir, const char *upperdir, const char *workdir, unsigned long long attributes,
                       char *message, size_t message_size) {
  message[0] = 0;
  long fs = syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0) return -errno;
  const char *keys[] = {"lowerdir", "upperdir", "workdir"};
  const char *values[] = {lowerdir, upperdir, workdir};
  int result = 0;
  for (int i = 0; i < 3 && result == 0; i++) {
    if (!values[i]) continue;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, keys[i], values[i], 0) < 0) result = -errno;
  }
  // A sandbox's writes are thrown away (or, kept, only looked at): no sync of
  // the host's filesystem when the overlay goes, which would flush its journal
  // at every sandbox's end. Best effort: kernels before 5.10 lack the flag.
  if (result == 0 && upperdir) (void)syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0);
  if (result == 0 && syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) result = -errno;
  if (result < 0) {
    // The kernel explains a refused configuration on the context's descriptor.
    ssize_t n = read((int)fs, message, message_size - 1);
    message[n > 0 ? n : 0] = 0;
    close((int)fs);
    return result;
  }
  long mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attributes);
  int error = errno;
  close((int)fs);
  return mnt < 0 ? -error : (int)mnt;
}

int hops_tmpfs_mount(unsigned long long attributes, unsigned long long size_bytes) {
  long fs = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0) return -errno;
  char size[32];
  snprintf(size, sizeof size, "%llu", size_bytes);
  int result = 0;
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    result = -errno;
  long mnt = result == 0 ? syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attributes) : -1;
  if (result == 0 && mnt < 0) result = -errno;
  close((int)fs);
  return result < 0 ? result : (int)mnt;
}

int hops_tmpfs_resize(int mount_fd, unsigned long long size_bytes) {
  long fs = syscall(SYS_fspick, mount_fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
  if (fs < 0) return -errno;
  char size[32];
  snprintf(size, sizeof size, "%llu", size_bytes);
  int result = 0;
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
    result = -errno;
  close((int)fs);
  return result;
}

int hops_move_mount(int from_fd, int to_dirfd, const char *to_path) {
  unsigned flags = MOVE_MOUNT_F_EMPTY_PATH | (to_path[0] == 0 ? MOVE_MOUNT_T_EMPTY_PATH : 0);
  long r = syscall(SYS_move_mount, from_fd, "", to_dirfd, to_path, flags);
  return r < 0 ? -errno : 0;
}
