/* The floor of archiving a tree: only what any archiver of it must do, in tartape's order. Each
 * directory is listed (getdents64), its names sorted byte-wise, and each entry taken in turn, a
 * directory before its contents: a file is opened relative to its directory (openat), fstat'ed
 * (its header needs the size, mode and mtime), read whole into one reused buffer and closed; a
 * subdirectory is opened relative to its parent and walked the same way. Nothing is written and
 * nothing else is looked at (the kernel's d_type says what each name is). Prints one JSON line.
 * With --pipe, the floor of the same job through a pipe: the bytes of a TAR of the tree's size go
 * to standard output (a zeroed 512-byte block for each directory and file, each file's content
 * read straight into the output buffer and padded to 512, two zeroed blocks at the end), written
 * 1 MiB at a time from one thread; the JSON line goes to standard error.
 * Usage: tree_floor [--pipe] DIR */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BUF (1u << 20)
#define BLOCK 512u

struct name {
    char *s;
    unsigned char type;
};

static uint8_t *buf;
static uint64_t files, dirs, bytes, written;
static int to_pipe;
static size_t used; /* --pipe: bytes of buf not yet written */

static int flush_out(void) {
    size_t at = 0;
    while (at < used) {
        ssize_t n = write(1, buf + at, used - at);
        if (n <= 0) return -1;
        at += (size_t)n;
    }
    written += used;
    used = 0;
    return 0;
}

/* --pipe: n zero bytes (a header block, padding, the trailer). */
static int zeros(size_t n) {
    while (n > 0) {
        size_t k;
        if (used == BUF && flush_out() != 0) return -1;
        k = BUF - used < n ? BUF - used : n;
        memset(buf + used, 0, k);
        used += k;
        n -= k;
    }
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const struct name *)a)->s, ((const struct name *)b)->s);
}

static int walk(int dir) {
    static char raw[1 << 16];
    struct name *names = NULL;
    size_t count = 0, cap = 0, i;
    long n;
    int rc = 0;
    while ((n = syscall(SYS_getdents64, dir, raw, sizeof raw)) > 0) {
        long at = 0;
        while (at < n) {
            struct dirent64 *d = (struct dirent64 *)(raw + at);
            at += d->d_reclen;
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) continue;
            if (count == cap) {
                cap = cap ? cap * 2 : 256;
                names = realloc(names, cap * sizeof *names);
                if (names == NULL) return -1;
            }
            names[count].s = strdup(d->d_name);
            names[count].type = d->d_type;
            count++;
        }
    }
    if (n < 0) return -1;
    qsort(names, count, sizeof *names, by_name);
    for (i = 0; i < count && rc == 0; i++) {
        if (names[i].type == DT_DIR) {
            int sub = openat(dir, names[i].s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sub < 0) { rc = -1; break; }
            dirs++;
            if (to_pipe && zeros(BLOCK) != 0) { close(sub); rc = -1; break; }
            rc = walk(sub);
            close(sub);
        } else if (names[i].type == DT_REG) {
            struct stat st;
            off_t done = 0;
            int fd = openat(dir, names[i].s, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || fstat(fd, &st) != 0) { rc = -1; break; }
            if (to_pipe && zeros(BLOCK) != 0) { close(fd); rc = -1; break; }
            while (done < st.st_size) {
                size_t room = to_pipe ? BUF - used : BUF;
                size_t want = (size_t)(st.st_size - done) < room ? (size_t)(st.st_size - done) : room;
                ssize_t got;
                if (want == 0) {
                    if (flush_out() != 0) { rc = -1; break; }
                    continue;
                }
                got = read(fd, to_pipe ? buf + used : buf, want);
                if (got <= 0) break;
                if (to_pipe) used += (size_t)got;
                done += got;
            }
            close(fd);
            if (rc != 0) break;
            if (to_pipe && zeros((BLOCK - (size_t)(done % BLOCK)) % BLOCK) != 0) { rc = -1; break; }
            files++;
            bytes += (uint64_t)done;
        }
    }
    for (i = 0; i < count; i++) free(names[i].s);
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    double t0, t1;
    int root;
    const char *dir;
    if (argc == 3 && strcmp(argv[1], "--pipe") == 0) to_pipe = 1;
    if (argc != 2 + to_pipe) {
        fprintf(stderr, "usage: tree_floor [--pipe] DIR\n");
        return 2;
    }
    dir = argv[1 + to_pipe];
    buf = malloc(BUF);
    if (buf == NULL) return 1;
    t0 = now_s();
    root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || walk(root) != 0) { perror(dir); return 1; }
    close(root);
    if (to_pipe && (zeros(2 * BLOCK) != 0 || flush_out() != 0)) { perror("standard output"); return 1; }
    t1 = now_s();
    fprintf(to_pipe ? stderr : stdout,
            "{\"files\": %llu, \"dirs\": %llu, \"content_bytes\": %llu, \"written\": %llu, "
            "\"seconds\": %.6f}\n",
            (unsigned long long)files, (unsigned long long)dirs, (unsigned long long)bytes,
            (unsigned long long)written, t1 - t0);
    free(buf);
    return 0;
}
