#define _GNU_SOURCE
// Descriptor passing over Unix sockets (SCM_RIGHTS): the daemon hands hops-init
// the pipes of an exec, hops-init hands back the master of a terminal.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "chops.h"

int hops_send_with_fds(int sock, const void *bytes, int length, const int *fds, int count) {
  if (count < 0 || count > HOPS_MAX_PASSED_FDS) return -EINVAL;
  struct iovec io = {.iov_base = (void *)bytes, .iov_len = (size_t)length};
  char control[CMSG_SPACE(sizeof(int) * HOPS_MAX_PASSED_FDS)];
  memset(control, 0, sizeof control);
  struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1};
  if (count > 0) {
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
    memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
  }
  ssize_t n;
  do { n = sendmsg(sock, &message, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : (int)n;
}

int hops_receive_with_fds(int sock, void *bytes, int length, int *fds, int *count) {
  *count = 0;
  struct iovec io = {.iov_base = bytes, .iov_len = (size_t)length};
  char control[CMSG_SPACE(sizeof(int) * HOPS_MAX_PASSED_FDS)];
  struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n;
  do { n = recvmsg(sock, &message, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&message); h; h = CMSG_NXTHDR(&message, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
    int received = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < received; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
      // More than asked for (a confused peer): close what does not fit.
      if (*count < HOPS_MAX_PASSED_FDS) fds[(*count)++] = fd; else close(fd);
    }
  }
  return (int)n;
}

int hops_accept_cloexec(int listener) { return accept4(listener, NULL, NULL, SOCK_CLOEXEC); }
