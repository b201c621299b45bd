#define _GNU_SOURCE
#include "chops.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int hops_open_pty(int *master, int *slave, unsigned short rows, unsigned short cols) {
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return -errno;
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) { int e = errno; close(m); return -e; }
  /* TIOCGPTPEER opens the peer of exactly this master, with no path lookup
     that anything in the sandbox could redirect. */
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) { int e = errno; close(m); return -e; }
  if (rows && cols) hops_set_window_size(m, rows, cols);
  *master = m;
  *slave = s;
  return 0;
}

int hops_set_window_size(int fd, unsigned short rows, unsigned short cols) {
  struct winsize size = {.ws_row = rows, .ws_col = cols};
  return ioctl(fd, TIOCSWINSZ, &size) < 0 ? -errno : 0;
}

int hops_get_window_size(int fd, unsigned short *rows, unsigned short *cols) {
  struct winsize size;
  if (ioctl(fd, TIOCGWINSZ, &size) < 0) return -errno;
  *rows = size.ws_row;
  *cols = size.ws_col;
  return 0;
}

int hops_send_with_fd(int sock, const void *bytes, int length, int fd) {
  struct iovec io = {.iov_base = (void *)bytes, .iov_len = (size_t)length};
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr *header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof(int));
  ssize_t n;
  do { n = sendmsg(sock, &message, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : (int)n;
}

int hops_receive_with_fd(int sock, void *bytes, int length, int *fd) {
  *fd = -1;
  struct iovec io = {.iov_base = bytes, .iov_len = (size_t)length};
  char control[CMSG_SPACE(sizeof(int))];
  struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n;
  do { n = recvmsg(sock, &message, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&message); h; h = CMSG_NXTHDR(&message, h)) {
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(h), sizeof(int));
  }
  return (int)n;
}

int hops_make_raw(int fd, void *saved) {
  struct termios settings;
  if (tcgetattr(fd, &settings) < 0) return -errno;
  memcpy(saved, &settings, sizeof settings);
  cfmakeraw(&settings);
  return tcsetattr(fd, TCSANOW, &settings) < 0 ? -errno : 0;
}

int hops_restore_terminal(int fd, const void *saved) {
  struct termios settings;
  memcpy(&settings, saved, sizeof settings);
  return tcsetattr(fd, TCSANOW, &settings) < 0 ? -errno : 0;
}
