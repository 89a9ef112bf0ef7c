#define _GNU_SOURCE
#include "CNomadSimShims.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pty.h>
#include <stdint.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

__attribute__((noreturn)) static void child_fail(int report_fd) {
    int err = errno;
    ssize_t ignored = write(report_fd, &err, sizeof err);
    (void)ignored;
    _exit(127);
}

/// The child's side of `nsim_spawn`, run on the parent's memory and stack after vfork: plain
/// system call wrappers only (no malloc, no locks; set*id as raw system calls, since glibc's
/// wrappers would signal the parent's threads), then exec or `_exit`.
__attribute__((noreturn)) static void spawn_child(const char *path, char *const argv[], char *const envp[], const char *cwd,
                        const int fds_in[3], int slave, int uid, int gid, pid_t parent, int report_fd) {
    // Signals stay blocked (as around vfork) until every handler is reset: no handler of the
    // simulator may run in the child, on the simulator's memory.
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(report_fd);
    if (getppid() != parent) _exit(127);
    if (setsid() < 0) child_fail(report_fd);
    int fds[3] = { fds_in[0], fds_in[1], fds_in[2] };
    if (slave >= 0) {
        if (ioctl(slave, TIOCSCTTY, 0) != 0) child_fail(report_fd);
        fds[0] = fds[1] = fds[2] = slave;
    }
    for (int target = 0; target < 3; target++) {
        int source = fds[target];
        if (source < 0) {
            source = open("/dev/null", target == 0 ? O_RDONLY : O_WRONLY);
            if (source < 0) child_fail(report_fd);
        }
        if (source == target) {
            fcntl(target, F_SETFD, 0);
        } else if (dup2(source, target) < 0) {
            child_fail(report_fd);
        }
    }
    // Keep no other descriptor of the simulator open in the task.
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (cwd != NULL && chdir(cwd) != 0) child_fail(report_fd);
    if (gid >= 0) {
        if (syscall(SYS_setgroups, 0, NULL) != 0 || syscall(SYS_setgid, (gid_t)gid) != 0) child_fail(report_fd);
    }
    if (uid >= 0 && syscall(SYS_setuid, (uid_t)uid) != 0) child_fail(report_fd);
    execve(path, argv, envp);
    child_fail(report_fd);
}

int nsim_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               int stdin_fd, int stdout_fd, int stderr_fd, int uid, int gid,
               int *pty_master, unsigned short rows, unsigned short cols, int *spawn_errno) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) { *spawn_errno = errno; return -1; }
    int master = -1, slave = -1;
    if (pty_master != NULL) {
        struct winsize size = { .ws_row = rows, .ws_col = cols };
        if (openpty(&master, &slave, NULL, NULL, &size) != 0) {
            *spawn_errno = errno;
            close(report[0]); close(report[1]);
            return -1;
        }
        fcntl(master, F_SETFD, FD_CLOEXEC);
    }
    pid_t parent = getpid();
    const int fds[3] = { stdin_fd, stdout_fd, stderr_fd };
    // vfork, as posix_spawn does: the child borrows the simulator's memory until it execs, so
    // starting a task costs no copy of the simulator's page tables (fork's cost grew with the
    // simulator's size and, on the one spawner thread, capped how fast tasks started).
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = vfork();
    if (pid == 0) spawn_child(path, argv, envp, cwd, fds, slave, uid, gid, parent, report[1]);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) {
        *spawn_errno = fork_errno;
        close(report[0]); close(report[1]);
        if (master >= 0) { close(master); close(slave); }
        return -1;
    }
    close(report[1]);
    if (slave >= 0) close(slave);
    int child_errno = 0;
    ssize_t got;
    do { got = read(report[0], &child_errno, sizeof child_errno); } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof child_errno) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (master >= 0) close(master);
        *spawn_errno = child_errno;
        return -1;
    }
    if (pty_master != NULL) *pty_master = master;
    return pid;
}

int nsim_wait(int pid, int *exit_code, int *signal_number) {
    int status = 0;
    for (;;) {
        pid_t result = waitpid(pid, &status, 0);
        if (result == pid) break;
        if (result < 0 && errno == EINTR) continue;
        return -1;
    }
    if (WIFEXITED(status)) {
        *exit_code = WEXITSTATUS(status);
        *signal_number = 0;
    } else if (WIFSIGNALED(status)) {
        *exit_code = 128 + WTERMSIG(status);
        *signal_number = WTERMSIG(status);
    } else {
        *exit_code = -1;
        *signal_number = 0;
    }
    return 0;
}

int nsim_set_winsize(int master_fd, unsigned short rows, unsigned short cols) {
    struct winsize size = { .ws_row = rows, .ws_col = cols };
    return ioctl(master_fd, TIOCSWINSZ, &size);
}

int nsim_lookup_user(const char *name, int *uid, int *gid) {
    struct passwd entry;
    struct passwd *found = NULL;
    char buffer[4096];
    if (getpwnam_r(name, &entry, buffer, sizeof buffer, &found) != 0 || found == NULL) return -1;
    *uid = (int)found->pw_uid;
    *gid = (int)found->pw_gid;
    return 0;
}

// MARK: Watchdog

static int watchdog_fd = -1;
static pthread_mutex_t watchdog_lock = PTHREAD_MUTEX_INITIALIZER;

#define NSIM_WATCHDOG_MAX_GROUPS 8192
static int watched_groups[NSIM_WATCHDOG_MAX_GROUPS];

static void watchdog_main(int read_fd) {
    // Only async-signal-safe calls: the parent may have been multithreaded.
    setsid();
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    for (int fd = 0; fd < 3; fd++) {
        if (fd != read_fd) {
            int null_fd = open("/dev/null", O_RDWR);
            if (null_fd >= 0 && null_fd != fd) { dup2(null_fd, fd); close(null_fd); }
        }
    }
    // Drop every other descriptor, above all the pipe's write end, whose close is the signal.
    for (int fd = 3; fd < 65536; fd++) {
        if (fd != read_fd) close(fd);
    }
    int count = 0;
    int32_t message[2];
    for (;;) {
        ssize_t got = read(read_fd, message, sizeof message);
        if (got < 0 && errno == EINTR) continue;
        if (got != (ssize_t)sizeof message) break;
        if (message[1]) {
            if (count < NSIM_WATCHDOG_MAX_GROUPS) watched_groups[count++] = message[0];
        } else {
            for (int i = 0; i < count; i++) {
                if (watched_groups[i] == message[0]) { watched_groups[i] = watched_groups[--count]; break; }
            }
        }
    }
    for (int i = 0; i < count; i++) kill(-watched_groups[i], SIGKILL);
    _exit(0);
}

int nsim_watchdog_start(void) {
    pthread_mutex_lock(&watchdog_lock);
    if (watchdog_fd >= 0) { pthread_mutex_unlock(&watchdog_lock); return 0; }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) { pthread_mutex_unlock(&watchdog_lock); return -1; }
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(fds[0]); close(fds[1]);
        pthread_mutex_unlock(&watchdog_lock);
        errno = err;
        return -1;
    }
    if (pid == 0) watchdog_main(fds[0]);
    close(fds[0]);
    watchdog_fd = fds[1];
    pthread_mutex_unlock(&watchdog_lock);
    return 0;
}

void nsim_watchdog_track(int pgid, int add) {
    pthread_mutex_lock(&watchdog_lock);
    if (watchdog_fd >= 0) {
        int32_t message[2] = { pgid, add ? 1 : 0 };
        ssize_t written;
        do { written = write(watchdog_fd, message, sizeof message); } while (written < 0 && errno == EINTR);
    }
    pthread_mutex_unlock(&watchdog_lock);
}
