#define _GNU_SOURCE
#include "chops.h"

#include <sched.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

int hops_signalfd_all(void) {
  sigset_t all;
  sigfillset(&all);
  if (sigprocmask(SIG_BLOCK, &all, NULL) < 0) return -1;
  return signalfd(-1, &all, SFD_CLOEXEC);
}

int hops_signalfd_of(const int *signals, int count) {
  sigset_t set;
  sigemptyset(&set);
  for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return -1;
  return signalfd(-1, &set, SFD_CLOEXEC);
}

int hops_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

int hops_set_dumpable(int value) { return prctl(PR_SET_DUMPABLE, value, 0, 0, 0); }

int hops_set_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

#include <errno.h>
#include <sys/wait.h>

int hops_wait_exited_keep(pid_t pid) {
  siginfo_t info;
  int r;
  do { r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT); } while (r < 0 && errno == EINTR);
  return r;
}

#include <sched.h>

int hops_unshare(int flags) { return unshare(flags); }

#include <sys/fsuid.h>

void hops_set_filesystem_ids(unsigned uid, unsigned gid) {
  // Per thread (the raw system calls, not glibc's process-wide setxid).
  setfsgid(gid);
  setfsuid(uid);
}

int hops_schedule_idle(int pid) {
  struct sched_param param = {.sched_priority = 0};
  return sched_setscheduler(pid, SCHED_IDLE, &param);
}

int hops_schedule_normal(int pid, int nice) {
  struct sched_param param = {.sched_priority = 0};
  if (sched_setscheduler(pid, SCHED_OTHER, &param) < 0) return -1;
  return setpriority(PRIO_PROCESS, (id_t)pid, nice);
}

int hops_nice_self(int nice) { return setpriority(PRIO_PROCESS, 0, nice); }

int hops_process_nice(void) {
  errno = 0;
  int value = getpriority(PRIO_PROCESS, (id_t)getpid());
  return errno == 0 ? value : 0;
}
