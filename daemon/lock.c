#include <fcntl.h>
#include <sys/stat.h>

#include "lock.h"

static char *lock_path(const char *dir) {
        return xasprintf("%s/" STATE_LOCK_FILE, dir);
}

/* The PID the owner wrote; 0 when the file is empty (written after the lock is taken), too
 * long or not a number. */
static pid_t read_pid(int fd) {
        char buf[24];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        char *end;
        long v;

        if (n <= 0)
                return 0;
        buf[n] = '\0';
        errno = 0;
        v = strtol(buf, &end, 10);
        if (errno != 0 || end == buf || (*end && *end != '\n') || v <= 0 || v > INT32_MAX)
                return 0;
        return (pid_t) v;
}

static int write_pid(int fd) {
        char buf[24];
        int n = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());

        if (ftruncate(fd, 0) < 0)
                return -errno;
        if (pwrite(fd, buf, (size_t) n, 0) != n)
                return errno ? -errno : -EIO;
        return 0;
}

int state_lock_acquire(const char *dir, pid_t *ret_holder) {
        _cleanup_free_ char *path = lock_path(dir);
        _cleanup_close_ int fd = -1;
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        int r;

        *ret_holder = 0;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
                if (errno != EAGAIN && errno != EACCES)
                        return -errno;
                *ret_holder = read_pid(fd);
                return -EBUSY;
        }
        r = write_pid(fd);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

int state_lock_holder(const char *dir, pid_t *ret_holder) {
        _cleanup_free_ char *path = lock_path(dir);
        _cleanup_close_ int fd = -1;
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

        *ret_holder = 0;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
                return -errno;
        if (fl.l_type == F_UNLCK)
                return 0;
        *ret_holder = read_pid(fd);
        return 1;
}

bool state_lock_is(int fd, const char *dir) {
        _cleanup_free_ char *path = lock_path(dir);
        struct stat a, b;

        return fd >= 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
