// The client side of a direct run (the daemon's DirectRunServer; the messages
// are HopsDirectRun's DirectRunMessages): the request goes to
// `$HOPS_HOME/run-2.sock` as a length-prefixed JSON frame with this process's
// stdin, stdout and stderr attached (SCM_RIGHTS); the command reads and writes
// them itself; forwarded signals follow as frames; the exit comes back.
#define _GNU_SOURCE
#include "front.h"
#include "json.h"
#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum { HOPS_FAILURE = 125, MAX_FRAME = 4 << 20, POLICY_FILE_MAX = 1 << 20 };

/// Signals that a user sends to "the command" and that must reach the sandbox.
static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

/// `hops: message (hint)` on stderr, as the CLI says a HopsError.
static void say(const char *message, const char *hint) {
  if (hint) fprintf(stderr, "hops: %s (%s)\n", message, hint);
  else fprintf(stderr, "hops: %s\n", message);
}

/// $HOPS_HOME, else ~/.hops (HopsHome.fromEnvironment).
static void home_directory(char *home, size_t size) {
  const char *value = getenv("HOPS_HOME");
  if (value && *value) {
    snprintf(home, size, "%s", value);
    return;
  }
  value = getenv("HOME");
  if (!value || !*value) {
    struct passwd *user = getpwuid(getuid());
    value = user && user->pw_dir ? user->pw_dir : "/root";
  }
  snprintf(home, size, "%s/.hops", value);
}

/// The workspace as an absolute, symlink-free directory, resolved here with
/// this user's rights (SandboxSettings.absoluteDirectory); NULL once said why.
static char *workspace_directory(const char *path) {
  char *resolved = realpath(path, NULL);
  char message[4200];
  if (!resolved) {
    snprintf(message, sizeof message, "workspace %s: %s", path, strerror(errno));
    say(message, "give an existing directory");
    return NULL;
  }
  struct stat info;
  if (stat(resolved, &info) != 0 || !S_ISDIR(info.st_mode)) {
    snprintf(message, sizeof message, "workspace %s is not a directory", path);
    say(message, NULL);
    free(resolved);
    return NULL;
  }
  return resolved;
}

/// `--policy-file`, read as the calling user (the daemon never opens a path a
/// client names), as the member `"policyFile":{"path":…,"text":…}`; 0 once
/// said why not (PolicyFileText.read).
static int write_policy_file(struct json_out *out, int *members, const char *path) {
  char message[4200];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(message, sizeof message, "cannot read profile %s: %s", path, strerror(errno));
    say(message, NULL);
    return 0;
  }
  char *text = malloc(POLICY_FILE_MAX + 1);
  size_t length = 0;
  ssize_t n = 0;
  while (text && length <= POLICY_FILE_MAX) {
    n = read(fd, text + length, POLICY_FILE_MAX + 1 - length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    length += (size_t)n;
  }
  int error = errno;
  close(fd);
  if (!text || n < 0) {
    snprintf(message, sizeof message, "cannot read profile file %s: %s", path, strerror(text ? error : ENOMEM));
    say(message, NULL);
    free(text);
    return 0;
  }
  if (length > POLICY_FILE_MAX) {
    snprintf(message, sizeof message, "profile file %s is over %d KiB", path, POLICY_FILE_MAX / 1024);
    say(message, "a profile is a short TOML file");
    free(text);
    return 0;
  }
  json_key(out, members, "policyFile");
  int file_members = 0;
  json_raw(out, "{");
  json_text_member(out, &file_members, "path", path);
  json_key(out, &file_members, "text");
  json_bytes(out, text, length);
  json_raw(out, "}");
  free(text);
  return 1;
}

/// The first frame's JSON: DirectRunInput.request as JSONEncoder lays it out.
static int write_request(struct json_out *out, const struct hops_quick_run *run, const char *workspace) {
  int members = 0, settings = 0;
  json_raw(out, "{\"request\":{\"_0\":");
  json_raw(out, "{");
  json_key(out, &members, "settings");
  json_raw(out, "{");
  json_text_member(out, &settings, "profile", run->profile);
  json_text_member(out, &settings, "policyFile", run->policy_file);
  json_text_member(out, &settings, "rootfs", run->rootfs);
  json_text_member(out, &settings, "network", run->network);
  json_key(out, &settings, "allowNet");
  json_string_array(out, run->allow_net.items, run->allow_net.count);
  json_key(out, &settings, "publish");
  json_string_array(out, run->publish.items, run->publish.count);
  json_text_member(out, &settings, "cpus", run->cpus);
  json_text_member(out, &settings, "cpuset", run->cpuset);
  json_text_member(out, &settings, "memory", run->memory);
  if (run->has_max_processes) {
    char number[32];
    snprintf(number, sizeof number, "%ld", run->max_processes);
    json_key(out, &settings, "maxProcesses");
    json_raw(out, number);
  }
  json_text_member(out, &settings, "timeout", run->timeout);
  json_text_member(out, &settings, "workspaceMode", run->workspace_mode);
  json_key(out, &settings, "environment");
  json_string_array(out, run->environment.items, run->environment.count);
  json_text_member(out, &settings, "workingDirectory", run->working_directory);
  json_text_member(out, &settings, "hostname", run->hostname);
  json_key(out, &settings, "keep");
  json_raw(out, run->keep ? "true" : "false");
  json_raw(out, "}");
  json_text_member(out, &members, "workspace", workspace);
  json_key(out, &members, "command");
  json_string_array(out, (const char *const *)run->command, run->command_count);
  json_text_member(out, &members, "name", run->name);
  // The command inherits the client's TERM.
  json_text_member(out, &members, "terminalType", getenv("TERM"));
  if (run->policy_file && !write_policy_file(out, &members, run->policy_file)) return 0;
  json_raw(out, "}}}");
  return 1;
}

static int connect_to(const char *path) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) return -1;
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/// One frame (a 4-byte little-endian length, then the JSON), with `fds`
/// attached to its first byte. 0 on failure.
static int send_frame(int socket, const char *json, size_t length, const int *fds, int count) {
  unsigned char header[4] = {(unsigned char)length, (unsigned char)(length >> 8), (unsigned char)(length >> 16),
                             (unsigned char)(length >> 24)};
  struct iovec parts[2] = {{header, 4}, {(void *)json, length}};
  union {
    char buffer[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr message = {.msg_iov = parts, .msg_iovlen = 2};
  if (count > 0) {
    memset(&control, 0, sizeof control);
    message.msg_control = control.buffer;
    message.msg_controllen = CMSG_SPACE((size_t)count * sizeof(int));
    struct cmsghdr *header_of_fds = CMSG_FIRSTHDR(&message);
    header_of_fds->cmsg_level = SOL_SOCKET;
    header_of_fds->cmsg_type = SCM_RIGHTS;
    header_of_fds->cmsg_len = CMSG_LEN((size_t)count * sizeof(int));
    memcpy(CMSG_DATA(header_of_fds), fds, (size_t)count * sizeof(int));
  }
  size_t total = 4 + length, sent = 0;
  while (sent < total) {
    ssize_t n = sendmsg(socket, &message, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    sent += (size_t)n;
    // What is left goes without the descriptors, from where the kernel stopped.
    message.msg_control = NULL;
    message.msg_controllen = 0;
    size_t skip = (size_t)n;
    while (message.msg_iovlen > 0 && skip >= message.msg_iov[0].iov_len) {
      skip -= message.msg_iov[0].iov_len;
      message.msg_iov++;
      message.msg_iovlen--;
    }
    if (message.msg_iovlen > 0) {
      message.msg_iov[0].iov_base = (char *)message.msg_iov[0].iov_base + skip;
      message.msg_iov[0].iov_len -= skip;
    }
  }
  return 1;
}

/// An optional text member as JSONDecoder reads one: absent or null is no
/// text; 0 when it is there but not a string.
static int optional_text(const struct json_value *object, const char *key, const char **text) {
  const struct json_value *member = json_member(object, key);
  *text = NULL;
  if (!member || member->type == JSON_NULL) return 1;
  if (member->type != JSON_STRING) return 0;
  *text = member->text;
  return 1;
}

static int is_number(const struct json_value *value) { return value && value->type == JSON_NUMBER; }

/// What one of the daemon's frames says: 0 to wait for more (started), 1 with
/// the exit code when the run is over, -1 when the frame is not one this
/// front can read.
static int handle_frame(const char *frame, size_t length, int *code) {
  struct json_value *message = json_parse(frame, length);
  int result = -1;
  // DirectRunOutput: an object of one member, named after the case.
  if (!message || message->type != JSON_OBJECT || !message->first || message->first->next) goto done;
  const struct json_value *body = message->first;
  const char *text, *kept;
  if (strcmp(body->key, "started") == 0) {
    const struct json_value *id = json_member(body, "sandboxID");
    if (id && id->type == JSON_STRING && optional_text(body, "address", &text)) result = 0;
  } else if (strcmp(body->key, "error") == 0) {
    const struct json_value *reason = json_member(body, "_0");
    if (reason && reason->type == JSON_STRING) {
      say(reason->text, NULL);
      *code = HOPS_FAILURE;
      result = 1;
    }
  } else if (strcmp(body->key, "exit") == 0) {
    const struct json_value *exit = json_member(body, "_0");
    int64_t exit_code, signal, processes, memory;
    if (json_integer(json_member(exit, "code"), INT32_MIN, INT32_MAX, &exit_code) &&
        json_integer(json_member(exit, "signal"), INT32_MIN, INT32_MAX, &signal) &&
        json_integer(json_member(exit, "peakProcesses"), INT64_MIN, INT64_MAX, &processes) &&
        json_integer(json_member(exit, "peakMemoryBytes"), 0, INT64_MAX, &memory) &&
        is_number(json_member(exit, "wallSeconds")) && is_number(json_member(exit, "cpuSeconds")) &&
        optional_text(exit, "message", &text) && optional_text(exit, "keptPath", &kept)) {
      // Hops' reason, if it ended the command, then where --keep left its files.
      if (text && *text) say(text, NULL);
      if (kept && *kept) fprintf(stderr, "hops: sandbox kept at %s (its changes to the rootfs are in %s/upper)\n", kept, kept);
      *code = (int)exit_code;
      result = 1;
    }
  }
done:
  json_free(message);
  return result;
}

/// Blocks the forwarded signals and returns a signalfd that delivers them,
/// or -1 (they are then not forwarded, and act as usual).
static int signals_to_descriptor(void) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++) sigaddset(&set, forwarded_signals[i]);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
  int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) sigprocmask(SIG_UNBLOCK, &set, NULL);
  return fd;
}

/// Reads the daemon's frames and forwards signals until the exit comes.
static int wait_for_exit(int socket, const char *home) {
  char log_hint[4200];
  snprintf(log_hint, sizeof log_hint, "see %s/hopsd.log", home);
  int signals = signals_to_descriptor();
  struct pollfd entries[2] = {{.fd = socket, .events = POLLIN}, {.fd = signals, .events = POLLIN}};
  char *buffer = NULL;
  size_t used = 0, capacity = 0;
  int code = HOPS_FAILURE;
  while (1) {
    if (poll(entries, signals >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      char message[256];
      snprintf(message, sizeof message, "cannot wait for the sandbox: %s", strerror(errno));
      say(message, NULL);
      break;
    }
    if (signals >= 0 && entries[1].revents) {
      struct signalfd_siginfo info;
      if (read(signals, &info, sizeof info) == sizeof info) {
        char frame[64];
        int n = snprintf(frame, sizeof frame, "{\"signal\":{\"_0\":%u}}", info.ssi_signo);
        send_frame(socket, frame, (size_t)n, NULL, 0);
      }
    }
    if (!entries[0].revents) continue;
    if (capacity - used < 65536) {
      char *grown = realloc(buffer, capacity + 65536);
      if (!grown) {
        say("out of memory", NULL);
        break;
      }
      buffer = grown;
      capacity += 65536;
    }
    ssize_t n = read(socket, buffer + used, capacity - used);
    if (n < 0 && errno == EINTR) continue;
    int open = n > 0;
    if (open) used += (size_t)n;
    // Every whole frame that is here.
    int over = 0;
    while (used >= 4 && !over) {
      const unsigned char *header = (const unsigned char *)buffer;
      size_t length = (size_t)header[0] | (size_t)header[1] << 8 | (size_t)header[2] << 16 | (size_t)header[3] << 24;
      if (length > MAX_FRAME) {
        say("hopsd sent a frame over the 4 MiB a message may have", log_hint);
        over = 1;
        break;
      }
      if (used < 4 + length) break;
      int handled = handle_frame(buffer + 4, length, &code);
      if (handled < 0) {
        // The socket's name carries the protocol's version: a frame this
        // build cannot read is a bug, said as such, not a silent wait.
        char message[300];
        snprintf(message, sizeof message, "hopsd sent a message this hops cannot read: %.*s", (int)(length < 200 ? length : 200), buffer + 4);
        say(message, log_hint);
        over = 1;
        break;
      }
      memmove(buffer, buffer + 4 + length, used - 4 - length);
      used -= 4 + length;
      over = handled == 1;
    }
    if (over) goto done;
    if (!open) {
      say("the connection to hopsd ended before the command did", log_hint);
      code = HOPS_FAILURE;
      goto done;
    }
  }
  code = HOPS_FAILURE;
done:
  free(buffer);
  if (signals >= 0) close(signals);
  return code;
}

char *hops_quick_run_request(const struct hops_quick_run *run, size_t *length) {
  char *workspace = workspace_directory(run->path ? run->path : ".");
  struct json_out request = {0};
  int ready = workspace && write_request(&request, run, workspace);
  free(workspace);
  if (!ready || request.failed) {
    if (ready) say("out of memory", NULL);
    free(request.bytes);
    return NULL;
  }
  *length = request.length;
  return request.bytes;
}

int hops_quick_run_start(const struct hops_quick_run *run, int *code) {
  int streams[3];
  if (!front_streams(run->interactive, run->no_interactive, streams)) return 0;
  char home[4096];
  home_directory(home, sizeof home);
  size_t length;
  char *request = hops_quick_run_request(run, &length);
  if (!request) {
    if (streams[0] != 0) close(streams[0]);
    *code = HOPS_FAILURE;
    return 1;
  }
  char socket_path[4200];
  snprintf(socket_path, sizeof socket_path, "%s/run-2.sock", home);
  // Not there, or not taking runs (stopping): hops-cli starts it, or says why.
  int socket = connect_to(socket_path);
  int sent = socket >= 0 && send_frame(socket, request, length, streams, 3);
  free(request);
  if (streams[0] != 0) close(streams[0]);
  if (!sent) {
    if (socket >= 0) close(socket);
    return 0;
  }
  *code = wait_for_exit(socket, home);
  close(socket);
  return 1;
}
