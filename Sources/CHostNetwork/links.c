// Host-side network links over rtnetlink: a sandbox's veth pair, made and
// removed in the daemon's own process. Running `ip` for it cost about 4 ms a
// sandbox (a process, its loader, four requests); these are two requests,
// well under a millisecond.
#define _GNU_SOURCE
#include "chostnetwork.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct link_request {
  struct nlmsghdr header;
  struct ifinfomsg info;
  char attributes[512];
};

// Appends an attribute (nested ones are closed with close_nest) and returns it;
// NULL when the request is full.
static struct rtattr *add_attribute(struct link_request *request, unsigned short type, const void *data, size_t length) {
  size_t offset = NLMSG_ALIGN(request->header.nlmsg_len);
  if (offset + RTA_SPACE(length) > sizeof *request) return NULL;
  struct rtattr *attribute = (struct rtattr *)((char *)request + offset);
  attribute->rta_type = type;
  attribute->rta_len = RTA_LENGTH(length);
  if (length) memcpy(RTA_DATA(attribute), data, length);
  request->header.nlmsg_len = offset + RTA_ALIGN(attribute->rta_len);
  return attribute;
}

static void close_nest(struct link_request *request, struct rtattr *nest) {
  nest->rta_len = (unsigned short)((char *)request + request->header.nlmsg_len - (char *)nest);
}

static void start_request(struct link_request *request, unsigned short type, unsigned short flags, unsigned sequence) {
  memset(request, 0, sizeof *request);
  request->header.nlmsg_len = NLMSG_LENGTH(sizeof request->info);
  request->header.nlmsg_type = type;
  request->header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  request->header.nlmsg_seq = sequence;
  request->info.ifi_family = AF_UNSPEC;
}

// The kernel's explanation in an extended acknowledgement, if any.
static void explanation(struct nlmsghdr *message, char *text, size_t size) {
  if (!(message->nlmsg_flags & NLM_F_ACK_TLVS) || size == 0) return;
  // With NETLINK_CAP_ACK the request is not echoed: attributes follow the header.
  size_t offset = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nlmsgerr));
  while (offset + sizeof(struct nlattr) <= message->nlmsg_len) {
    struct nlattr *attribute = (struct nlattr *)((char *)message + offset);
    if (attribute->nla_len < sizeof *attribute || offset + attribute->nla_len > message->nlmsg_len) return;
    if ((attribute->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      snprintf(text, size, "%.*s", (int)(attribute->nla_len - sizeof *attribute), (char *)(attribute + 1));
      return;
    }
    offset += NLA_ALIGN(attribute->nla_len);
  }
}

// Sends one request and waits for its acknowledgement: 0 or -errno, with the
// kernel's explanation of a refusal in `why`. A reply that does not fit, or
// none within two seconds, is an error, never a wait without end.
static int exchange(int fd, struct link_request *request, char *why, size_t why_size) {
  if (why_size) why[0] = 0;
  if (send(fd, request, request->header.nlmsg_len, 0) < 0) return -errno;
  char answer[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t received = recv(fd, answer, sizeof answer, MSG_TRUNC);
    if (received < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? -ETIMEDOUT : -errno;
    }
    if ((size_t)received > sizeof answer) return -EMSGSIZE;
    int left = (int)received;
    for (struct nlmsghdr *message = (struct nlmsghdr *)answer; NLMSG_OK(message, left); message = NLMSG_NEXT(message, left)) {
      if (message->nlmsg_seq != request->header.nlmsg_seq || message->nlmsg_type != NLMSG_ERROR) continue;
      if (message->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return -EPROTO;
      int error = ((struct nlmsgerr *)NLMSG_DATA(message))->error;
      if (error < 0) explanation(message, why, why_size);
      return error;
    }
  }
}

static int open_route_socket(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  int on = 1;
  // Explanations with refusals, and acknowledgements without our request echoed.
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  struct timeval timeout = {.tv_sec = 2};
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// `message`: "<step>: <errno text>[ (<kernel's explanation>)]".
static int failed(int result, const char *step, const char *why, char *message, size_t size) {
  if (size) snprintf(message, size, "%s: %s%s%s%s", step, strerror(-result), *why ? " (" : "", why, *why ? ")" : "");
  return result;
}

int hops_veth_create(const char *host_name, const char *peer_name, int peer_pid, const char *bridge, char *message,
                     size_t message_size) {
  char why[256] = "";
  unsigned bridge_index = if_nametoindex(bridge);
  if (bridge_index == 0) return failed(-errno, "find the bridge", why, message, message_size);
  int fd = open_route_socket();
  if (fd < 0) return failed(fd, "open a netlink socket", why, message, message_size);
  struct link_request request;
  int result = -ENOBUFS;
  const char *step = "create the pair";

  // The pair, its host end a port of the bridge (down), its peer made
  // directly in the sandbox's network namespace.
  start_request(&request, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 1);
  if (!add_attribute(&request, IFLA_IFNAME, host_name, strlen(host_name) + 1)) goto done;
  if (!add_attribute(&request, IFLA_MASTER, &bridge_index, sizeof bridge_index)) goto done;
  struct rtattr *link_info = add_attribute(&request, IFLA_LINKINFO, NULL, 0);
  if (!link_info || !add_attribute(&request, IFLA_INFO_KIND, "veth", 4)) goto done;
  struct rtattr *data = add_attribute(&request, IFLA_INFO_DATA, NULL, 0);
  struct ifinfomsg peer_info = {.ifi_family = AF_UNSPEC};
  struct rtattr *peer = data ? add_attribute(&request, VETH_INFO_PEER, &peer_info, sizeof peer_info) : NULL;
  if (!peer) goto done;
  uint32_t pid = (uint32_t)peer_pid;
  if (!add_attribute(&request, IFLA_IFNAME, peer_name, strlen(peer_name) + 1)) goto done;
  if (!add_attribute(&request, IFLA_NET_NS_PID, &pid, sizeof pid)) goto done;
  close_nest(&request, peer);
  close_nest(&request, data);
  close_nest(&request, link_info);
  if ((result = exchange(fd, &request, why, sizeof why)) < 0) goto done;

  // Isolated (it reaches the bridge's uplink, never another sandbox's port),
  // then up: the kernel applies the port's settings before the flags.
  step = "make its port isolated and up";
  start_request(&request, RTM_NEWLINK, 0, 2);
  request.info.ifi_index = (int)if_nametoindex(host_name);
  if (request.info.ifi_index == 0) {
    result = -errno;
    goto done;
  }
  result = -ENOBUFS;
  request.info.ifi_flags = IFF_UP;
  request.info.ifi_change = IFF_UP;
  link_info = add_attribute(&request, IFLA_LINKINFO, NULL, 0);
  if (!link_info || !add_attribute(&request, IFLA_INFO_SLAVE_KIND, "bridge", 6)) goto done;
  struct rtattr *port = add_attribute(&request, IFLA_INFO_SLAVE_DATA, NULL, 0);
  unsigned char isolated = 1;
  if (!port || !add_attribute(&request, IFLA_BRPORT_ISOLATED, &isolated, sizeof isolated)) goto done;
  close_nest(&request, port);
  close_nest(&request, link_info);
  result = exchange(fd, &request, why, sizeof why);
done:
  close(fd);
  return result < 0 ? failed(result, step, why, message, message_size) : result;
}

int hops_link_delete(const char *name) {
  int fd = open_route_socket();
  if (fd < 0) return fd;
  struct link_request request;
  start_request(&request, RTM_DELLINK, 0, 1);
  char why[1];
  int result = add_attribute(&request, IFLA_IFNAME, name, strlen(name) + 1) ? exchange(fd, &request, why, 0) : -ENOBUFS;
  close(fd);
  return result;
}
