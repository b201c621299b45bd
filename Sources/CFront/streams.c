// Which of this process's streams a direct run passes to the sandbox: the same
// choice as StdioMode.choose and DirectRunClient.streams, and the same test of
// what may be passed as PassedStreams.refusal.
#define _GNU_SOURCE
#include "streams.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/// Whether the daemon takes `fd` as one of the command's streams: a pipe, a
/// regular file, a character device that is not a terminal, or a connected
/// stream socket (not listening). Terminals go through hops-cli, which gives
/// the sandbox a pseudo-terminal of its own.
static int passable(int fd) {
  struct stat info;
  if (fstat(fd, &info) != 0) return 0;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_PATH)) return 0;
  switch (info.st_mode & S_IFMT) {
  case S_IFIFO:
  case S_IFREG:
    return 1;
  case S_IFCHR:
    return !isatty(fd);
  case S_IFSOCK: {
    int type = 0, listening = 1;
    socklen_t length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM) return 0;
    length = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || listening) return 0;
    struct sockaddr_storage peer;
    length = sizeof peer;
    return getpeername(fd, (struct sockaddr *)&peer, &length) == 0;
  }
  default:
    return 0;
  }
}

int front_streams(int interactive, int no_interactive, int streams[3]) {
  int stdin_is_terminal = isatty(0);
  int forward_stdin;
  if (interactive) forward_stdin = 1;
  else if (stdin_is_terminal && no_interactive) forward_stdin = 0;
  else if (stdin_is_terminal && isatty(1)) return 0;  // a terminal: hops-cli's
  else forward_stdin = 1;

  streams[0] = 0;
  if (!forward_stdin || fcntl(0, F_GETFD) < 0) {
    streams[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (streams[0] < 0) return 0;
  }
  streams[1] = 1;
  streams[2] = 2;
  for (int i = 0; i < 3; i++) {
    if (!passable(streams[i])) {
      if (streams[0] != 0) close(streams[0]);
      return 0;
    }
  }
  return 1;
}
