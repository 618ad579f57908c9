/* Multipart-upload style: cuts the archive of PATH into parts of PART_SIZE bytes, reads the parts
 * in parallel threads with tt_read_at (as an uploader would send them), and checks that the
 * reassembled parts equal the archive streamed in one go. Prints each part's manifest.
 * Usage: multipart PART_SIZE PATH... */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tartape.h>

#define THREADS 4

struct job {
    tt_tape *tape;
    uint64_t part_size, parts, total;
    uint8_t *assembled; /* the whole archive, filled part by part */
    int next_part, failed;
    pthread_mutex_t lock;
};

static void *upload_worker(void *arg) {
    struct job *job = arg;
    for (;;) {
        uint64_t part, start, len, done = 0;
        pthread_mutex_lock(&job->lock);
        part = (uint64_t)job->next_part++;
        pthread_mutex_unlock(&job->lock);
        if (part >= job->parts) return NULL;
        start = part * job->part_size;
        len = job->total - start < job->part_size ? job->total - start : job->part_size;
        while (done < len) { /* tt_read_at is thread-safe on one tape */
            size_t got = 0;
            tt_status st = tt_read_at(job->tape, start + done, job->assembled + start + done, (size_t)(len - done), &got);
            if (st != TT_STATUS_OK || got == 0) {
                job->failed = 1;
                return NULL;
            }
            done += got;
        }
    }
}

int main(int argc, char **argv) {
    struct job job;
    pthread_t threads[THREADS];
    tt_event ev;
    tt_status st;
    uint8_t *streamed;
    uint64_t pos = 0, p, n;
    int i;
    if (argc < 3) {
        fprintf(stderr, "usage: multipart PART_SIZE PATH...\n");
        return 2;
    }
    memset(&job, 0, sizeof job);
    job.part_size = strtoull(argv[1], NULL, 10);
    job.tape = tt_tape_new();
    if (job.tape == NULL) return 1;
    for (i = 2; i < argc; i++)
        if ((st = tt_add_path(job.tape, argv[i], NULL, 0)) != TT_STATUS_OK) goto fail;
    if ((st = tt_tape_total_size(job.tape, &job.total)) != TT_STATUS_OK) goto fail;
    if ((st = tt_volume_count(job.tape, job.part_size, &job.parts)) != TT_STATUS_OK) goto fail;
    job.assembled = calloc(1, (size_t)job.total);
    streamed = calloc(1, (size_t)job.total);
    if (job.assembled == NULL || streamed == NULL) return 1;
    pthread_mutex_init(&job.lock, NULL);
    for (i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, upload_worker, &job);
    for (i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&job.lock);
    if (job.failed) {
        fprintf(stderr, "multipart: a part failed: %s\n", tt_tape_error_message(job.tape));
        return 1;
    }
    while ((st = tt_next_event(job.tape, &ev)) == TT_STATUS_OK)
        if (ev.type == TT_EVENT_TYPE_DATA) {
            memcpy(streamed + pos, ev.data, ev.data_len);
            pos += ev.data_len;
        }
    if (st != TT_STATUS_EOF) goto fail;
    for (p = 0; p < job.parts; p++) {
        tt_volume *vol;
        tt_manifest_item item;
        static const char *roles[] = {"whole", "head", "body", "tail"};
        if ((st = tt_volume_open(job.tape, job.part_size, p, &vol)) != TT_STATUS_OK) goto fail;
        tt_volume_manifest_count(vol, &n);
        printf("part %llu:", (unsigned long long)p);
        for (i = 0; (uint64_t)i < n; i++) {
            tt_volume_manifest_item(vol, (uint64_t)i, &item);
            printf(" %.*s(%s)", (int)item.name_len, (const char *)item.name, roles[item.role]);
        }
        printf("\n");
        tt_volume_free(vol);
    }
    if (pos != job.total || memcmp(streamed, job.assembled, (size_t)job.total) != 0) {
        fprintf(stderr, "multipart: parts differ from the stream\n");
        return 1;
    }
    printf("%llu parts of %llu bytes reassemble the %llu-byte archive\n", (unsigned long long)job.parts,
           (unsigned long long)job.part_size, (unsigned long long)job.total);
    free(streamed);
    free(job.assembled);
    tt_tape_free(job.tape);
    return 0;
fail:
    fprintf(stderr, "multipart: %s: %s\n", tt_status_name(st), tt_tape_error_message(job.tape));
    tt_tape_free(job.tape);
    return 1;
}
