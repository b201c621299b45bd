#define _GNU_SOURCE
#include "chops.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int hops_loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct ifreq request;
  memset(&request, 0, sizeof request);
  strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  int result = 0;
  if (ioctl(fd, SIOCGIFFLAGS, &request) < 0) {
    result = -errno;
  } else {
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &request) < 0) result = -errno;
  }
  close(fd);
  return result;
}

#include <arpa/inet.h>
#include <net/route.h>
#include <netinet/in.h>

static void set_address(struct sockaddr *target, unsigned address) {
  struct sockaddr_in *in = (struct sockaddr_in *)target;
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(address);
}

int hops_configure_interface(const char *name, unsigned address, int prefix, unsigned gateway) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int result = 0;
  struct ifreq request;
  memset(&request, 0, sizeof request);
  strncpy(request.ifr_name, name, IFNAMSIZ - 1);
  set_address(&request.ifr_addr, address);
  if (ioctl(fd, SIOCSIFADDR, &request) < 0) { result = -errno; goto done; }
  unsigned mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
  set_address(&request.ifr_netmask, mask);
  if (ioctl(fd, SIOCSIFNETMASK, &request) < 0) { result = -errno; goto done; }
  if (ioctl(fd, SIOCGIFFLAGS, &request) < 0) { result = -errno; goto done; }
  request.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(fd, SIOCSIFFLAGS, &request) < 0) { result = -errno; goto done; }
  if (gateway != 0) {
    struct rtentry route;
    memset(&route, 0, sizeof route);
    set_address(&route.rt_dst, 0);
    set_address(&route.rt_genmask, 0);
    set_address(&route.rt_gateway, gateway);
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    route.rt_dev = (char *)name;
    if (ioctl(fd, SIOCADDRT, &route) < 0) { result = -errno; goto done; }
  }
done:
  close(fd);
  return result;
}
