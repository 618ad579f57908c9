/* The floor of archiving a tree: only what any archiver of it must do, in tartape's order. Each
 * directory is listed (getdents64), its names sorted byte-wise, and each entry taken in turn, a
 * directory before its contents: a file is opened relative to its directory (openat), fstat'ed
 * (its header needs the size, mode and mtime), read whole into one reused buffer and closed; a
 * subdirectory is opened relative to its parent and walked the same way. Nothing is written and
 * nothing else is looked at (the kernel's d_type says what each name is). Prints one JSON line.
 * Usage: tree_floor DIR */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BUF (1u << 20)

struct name {
    char *s;
    unsigned char type;
};

static uint8_t *buf;
static uint64_t files, dirs, bytes;

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
            rc = walk(sub);
            close(sub);
        } else if (names[i].type == DT_REG) {
            struct stat st;
            off_t done = 0;
            int fd = openat(dir, names[i].s, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || fstat(fd, &st) != 0) { rc = -1; break; }
            while (done < st.st_size) {
                size_t want = (size_t)(st.st_size - done) < BUF ? (size_t)(st.st_size - done) : BUF;
                ssize_t got = read(fd, buf, want);
                if (got <= 0) break;
                done += got;
            }
            close(fd);
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
    if (argc != 2) {
        fprintf(stderr, "usage: tree_floor DIR\n");
        return 2;
    }
    buf = malloc(BUF);
    if (buf == NULL) return 1;
    t0 = now_s();
    root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || walk(root) != 0) { perror(argv[1]); return 1; }
    close(root);
    t1 = now_s();
    printf("{\"files\": %llu, \"dirs\": %llu, \"content_bytes\": %llu, \"seconds\": %.6f}\n",
           (unsigned long long)files, (unsigned long long)dirs, (unsigned long long)bytes, t1 - t0);
    free(buf);
    return 0;
}
