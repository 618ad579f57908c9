/* The part loop of a multipart upload (S3's, or any store that takes numbered parts): cuts the
 * archive of PATH into parts of PART_SIZE bytes and, in parallel threads, gets each part's range
 * (tt_volume_range), reads its bytes with tt_read_at (the body an uploader sends) and its MD5
 * (tt_volume_md5: the part's Content-MD5 and, on S3, its ETag). Then prints, for each part, its
 * number, range, MD5 and manifest, and the ETag the completed object will have: the MD5 of the
 * parts' binary MD5s followed by "-N" (computed here by the library too: a one-entry tape holding
 * the digests, its MD5 recorded). Finally checks that the parts reassemble the archive streamed in
 * one go. Nothing is uploaded: the "send" is a copy into one buffer.
 * Usage: multipart PART_SIZE PATH... */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tartape.h>

#define THREADS 4

struct part {
    tt_volume *volume; /* opened before the workers start: each worker uses its own */
    uint64_t start, len;
    uint8_t md5[16];
};

struct job {
    tt_tape *tape;
    uint64_t part_size, parts, total;
    struct part *part;
    uint8_t *assembled; /* the whole archive, filled part by part (the "store") */
    uint64_t next_part;
    int failed;
    pthread_mutex_t lock;
};

static void *upload_worker(void *arg) {
    struct job *job = arg;
    for (;;) {
        uint64_t p, done = 0;
        struct part *part;
        pthread_mutex_lock(&job->lock);
        p = job->next_part++;
        pthread_mutex_unlock(&job->lock);
        if (p >= job->parts) return NULL;
        part = &job->part[p];
        while (done < part->len) { /* tt_read_at is thread-safe on one tape */
            size_t got = 0;
            tt_status st = tt_read_at(job->tape, part->start + done, job->assembled + part->start + done,
                                      (size_t)(part->len - done), &got);
            if (st != TT_STATUS_OK || got == 0) {
                job->failed = 1;
                return NULL;
            }
            done += got;
        }
        /* The part's MD5, thread-safe on its own volume. It reads the part again: an uploader with
         * an MD5 of its own would hash the bytes it just read instead. */
        if (tt_volume_md5(part->volume, part->md5) != TT_STATUS_OK) {
            job->failed = 1;
            return NULL;
        }
        /* Here an uploader sends job->assembled[start, start + len) as part number p + 1, with
         * Content-MD5 = base64(md5), and compares the ETag the store answers with hex(md5). */
    }
}

static void hex(const uint8_t *b, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The multipart ETag: MD5 over the parts' 16-byte MD5s in part order, then "-N". The MD5 comes from
 * the library: a tape of one memory entry holding the digests, sealed with its MD5 recorded. */
static tt_status multipart_etag(const struct job *job, char *out, size_t out_len) {
    tt_tape *t = tt_tape_new();
    uint8_t *all = malloc((size_t)job->parts * 16), md5[16];
    char digest[33];
    uint64_t p;
    tt_status st = TT_STATUS_INVALID_ARGUMENT;
    if (t == NULL || all == NULL) goto done;
    for (p = 0; p < job->parts; p++) memcpy(all + 16 * p, job->part[p].md5, 16);
    if ((st = tt_tape_record_checksums(t, TT_CHECKSUM_MD5)) != TT_STATUS_OK) goto done;
    if ((st = tt_add_bytes(t, (const uint8_t *)"md5s", 4, all, (size_t)job->parts * 16, 0644, 0)) != TT_STATUS_OK)
        goto done;
    if ((st = tt_tape_entry_checksum(t, 0, TT_CHECKSUM_MD5, md5, sizeof md5, NULL)) != TT_STATUS_OK) goto done;
    hex(md5, 16, digest);
    snprintf(out, out_len, "\"%s-%llu\"", digest, (unsigned long long)job->parts);
done:
    if (st != TT_STATUS_OK && t != NULL) fprintf(stderr, "multipart: etag: %s\n", tt_tape_error_message(t));
    free(all);
    tt_tape_free(t);
    return st;
}

int main(int argc, char **argv) {
    struct job job;
    pthread_t threads[THREADS];
    tt_event ev;
    tt_status st;
    uint8_t *streamed = NULL;
    uint64_t pos = 0, p, n;
    char etag[64], md5hex[33];
    int i, code = 1;
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
    job.part = calloc((size_t)job.parts, sizeof *job.part);
    job.assembled = calloc(1, (size_t)job.total);
    streamed = calloc(1, (size_t)job.total);
    if (job.part == NULL || job.assembled == NULL || streamed == NULL) goto out;
    for (p = 0; p < job.parts; p++) { /* each part's range, known before any byte is read */
        if ((st = tt_volume_open(job.tape, job.part_size, p, &job.part[p].volume)) != TT_STATUS_OK) goto fail;
        if ((st = tt_volume_range(job.part[p].volume, &job.part[p].start, &job.part[p].len)) != TT_STATUS_OK)
            goto fail;
    }
    pthread_mutex_init(&job.lock, NULL);
    for (i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, upload_worker, &job);
    for (i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&job.lock);
    if (job.failed) {
        fprintf(stderr, "multipart: a part failed: %s\n", tt_tape_error_message(job.tape));
        goto out;
    }
    while ((st = tt_next_event(job.tape, &ev)) == TT_STATUS_OK)
        if (ev.type == TT_EVENT_TYPE_DATA) {
            memcpy(streamed + pos, ev.data, ev.data_len);
            pos += ev.data_len;
        }
    if (st != TT_STATUS_EOF) goto fail;
    for (p = 0; p < job.parts; p++) {
        tt_manifest_item item;
        static const char *roles[] = {"whole", "head", "body", "tail"};
        hex(job.part[p].md5, 16, md5hex);
        printf("part %llu: bytes %llu-%llu (%llu) md5 %s:", (unsigned long long)(p + 1),
               (unsigned long long)job.part[p].start, (unsigned long long)(job.part[p].start + job.part[p].len - 1),
               (unsigned long long)job.part[p].len, md5hex);
        tt_volume_manifest_count(job.part[p].volume, &n);
        for (i = 0; (uint64_t)i < n; i++) {
            tt_volume_manifest_item(job.part[p].volume, (uint64_t)i, &item);
            printf(" %.*s(%s)", (int)item.name_len, (const char *)item.name, roles[item.role]);
        }
        printf("\n");
    }
    if (pos != job.total || memcmp(streamed, job.assembled, (size_t)job.total) != 0) {
        fprintf(stderr, "multipart: parts differ from the stream\n");
        goto out;
    }
    if ((st = multipart_etag(&job, etag, sizeof etag)) != TT_STATUS_OK) goto out;
    printf("etag: %s\n", etag);
    printf("%llu parts of %llu bytes reassemble the %llu-byte archive\n", (unsigned long long)job.parts,
           (unsigned long long)job.part_size, (unsigned long long)job.total);
    code = 0;
    goto out;
fail:
    fprintf(stderr, "multipart: %s: %s\n", tt_status_name(st), tt_tape_error_message(job.tape));
out:
    if (job.part != NULL)
        for (p = 0; p < job.parts; p++) tt_volume_free(job.part[p].volume);
    free(job.part);
    free(streamed);
    free(job.assembled);
    tt_tape_free(job.tape);
    return code;
}
