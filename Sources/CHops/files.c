#define _GNU_SOURCE
#include "chops.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

int hops_open_in_root(int root_fd, const char *path, int flags, unsigned mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)flags;
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd;
  do { fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how); } while (fd < 0 && errno == EINTR);
  return (int)fd;
}

int hops_open_beneath(int dir_fd, const char *path, int flags, unsigned mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)flags;
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd;
  do { fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof how); } while (fd < 0 && errno == EINTR);
  return (int)fd;
}

int hops_open_no_symlinks(const char *path, int flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)flags;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd;
  do { fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how); } while (fd < 0 && errno == EINTR);
  return (int)fd;
}

long hops_filesystem_type(int fd) {
  struct statfs info;
  return fstatfs(fd, &info) < 0 ? -errno : (long)info.f_type;
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *walk) {
  (void)info;
  (void)walk;
  int result = (type == FTW_DP) ? rmdir(path) : unlink(path);
  return (result < 0 && errno != ENOENT) ? -1 : 0;
}

int hops_remove_tree(const char *path) {
  // Depth first, never following a symlink or crossing into another mount.
  int result = nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (result < 0 && errno == ENOENT) return 0;
  return result < 0 ? -errno : 0;
}

#include <sys/xattr.h>

int hops_set_opaque(int directory_fd) {
  return fsetxattr(directory_fd, "trusted.overlay.opaque", "y", 1, 0) < 0 ? -errno : 0;
}
