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
