/*
 * libsrtp_ref — the reference side of Tincan's SRTP/SRTCP interop tests and benchmark.
 *
 * A filter over libsrtp 2 (Debian: libsrtp2-dev, libsrtp 2.5), Cisco's SRTP library, the one
 * most SIP and WebRTC stacks link. Packets on stdin, results on stdout; nothing but errors
 * (one line, then exit 1 or 2) on stderr. Built and driven by test/reference/libsrtp.ts.
 *
 *   protect        SUITE KEYHEX SALTHEX [WINDOW]   RTP  -> SRTP   (srtp_protect)
 *   unprotect      SUITE KEYHEX SALTHEX [WINDOW]   SRTP -> RTP    (srtp_unprotect)
 *   protect-rtcp   SUITE KEYHEX SALTHEX [WINDOW]   RTCP -> SRTCP  (srtp_protect_rtcp)
 *   unprotect-rtcp SUITE KEYHEX SALTHEX [WINDOW]   SRTCP -> RTCP  (srtp_unprotect_rtcp)
 *   bench          SUITE KEYHEX SALTHEX [PACKETS_PER_RUN]
 *
 * SUITE: 1 AES_CM_128_HMAC_SHA1_80 (key 16 bytes, salt 14), 2 AES_CM_128_HMAC_SHA1_32 (16, 14),
 * 3 AEAD_AES_128_GCM (16, 12), 4 AEAD_AES_256_GCM (32, 12): Tincan's suite numbers. KEYHEX and
 * SALTHEX are the master key and master salt in hex; libsrtp takes them as one buffer,
 * key || salt. WINDOW is the SRTP replay window (64..32767; default 128, libsrtp's own default;
 * SRTCP's window is libsrtp's fixed 128).
 *
 * Suite 2 and SRTCP: RFC 4568 section 6.2.2 (and RFC 3711 section 5.2) keep SRTCP's tag at 80
 * bits for AES_CM_128_HMAC_SHA1_32; only SRTP's tag is cut to 32 bits. libsrtp's
 * srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32() is documented as "not for SRTCP", so, as
 * libsrtp's users do (its own rtpw, srtp_crypto_policy_set_from_profile_for_rtcp, baresip,
 * pjmedia), the RTCP policy of suite 2 is srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80().
 *
 * One srtp_t session per run: policy ssrc_any_outbound for the protect commands, ssrc_any_inbound
 * for the unprotect commands, so each SSRC seen gets its own stream (its own ROC, SRTCP index and
 * replay window) from the one key. libsrtp's sender also keeps a replay list: protecting an RTP
 * index it has already protected fails with replay_fail (allow_repeat_tx is 0).
 *
 * Framing, both ways, binary:
 *   in:   per packet, u16 big-endian length, then that many bytes; until end of input.
 *   out:  per input packet, in order: u8 status (libsrtp's srtp_err_status_t: 0 ok, 7 auth_fail,
 *         9 replay_fail, 10 replay_old, 2 bad_param, ...), u16 big-endian length, then that many
 *         bytes (the protected or unprotected packet; length 0 when status is not 0).
 * An input packet may be up to 65535 bytes; the work buffer has SRTP_MAX_TRAILER_LEN spare.
 *
 * bench: times srtp_protect and srtp_unprotect of one G.722 20 ms RTP packet (12-byte header,
 * payload type 9, 160-byte payload), with clock_gettime(CLOCK_MONOTONIC). Protect: one sender
 * session, sequence number + 1 and timestamp + 160 per packet, the plaintext copied into the
 * work buffer before each call (the call protects in place). Unprotect: packets protected
 * beforehand (a ring of 8192 consecutive ones), each copied into the work buffer then
 * unprotected; a fresh receiver session per pass over the ring (outside the timing) so the
 * replay check always passes. One run = PACKETS_PER_RUN packets (0 = auto: about 0.3 s);
 * median of BENCH_RUNS runs. One JSON line:
 *   {"protectNs":..,"unprotectNs":..,"packetsPerRun":..,"runs":..,"suite":..,"packetBytes":172,
 *    "protectedBytes":..,"checksum":".."}
 *
 * Build: gcc -O2 -o libsrtp-ref libsrtp_ref.c -lsrtp2
 */

#define _POSIX_C_SOURCE 199309L

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srtp2/srtp.h>

#define PROG "libsrtp-ref"
#define MAX_PACKET 65535
#define BENCH_RUNS 7
#define BENCH_RING 8192
#define BENCH_TARGET_NS 300000000.0
#define BENCH_HEADER 12
#define BENCH_PAYLOAD 160

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

static void usage(void)
{
    die(2, "usage: " PROG " protect|unprotect|protect-rtcp|unprotect-rtcp SUITE KEYHEX SALTHEX [WINDOW]"
           " | bench SUITE KEYHEX SALTHEX [PACKETS_PER_RUN]"
           "  (SUITE: 1 AES_CM_128_HMAC_SHA1_80, 2 AES_CM_128_HMAC_SHA1_32, 3 AEAD_AES_128_GCM, 4 AEAD_AES_256_GCM)");
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die(1, "out of memory (%zu bytes)", n);
    return p;
}

static long parse_long(const char *s, const char *what, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        die(2, "bad %s '%s': expected an integer from %ld to %ld", what, s, min, max);
    return v;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hex string of exactly `len` bytes into out. */
static void parse_hex(const char *s, const char *what, uint8_t *out, size_t len)
{
    size_t n = strlen(s);
    if (n != 2 * len)
        die(2, "bad %s '%s': expected %zu hex digits (%zu bytes) for this suite, got %zu", what, s, 2 * len, len, n);
    for (size_t i = 0; i < len; i++)
    {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            die(2, "bad %s '%s': not hexadecimal", what, s);
        out[i] = (uint8_t) (hi << 4 | lo);
    }
}

/* ---- suites and sessions ---------------------------------------------------------------- */

struct suite
{
    const char *name;
    size_t key_len, salt_len;
};

static const struct suite SUITES[5] = {
    { NULL, 0, 0 },
    { "AES_CM_128_HMAC_SHA1_80", 16, 14 },
    { "AES_CM_128_HMAC_SHA1_32", 16, 14 },
    { "AEAD_AES_128_GCM", 16, 12 },
    { "AEAD_AES_256_GCM", 32, 12 },
};

struct params
{
    int suite;
    uint8_t master[64]; /* key || salt, as libsrtp wants it */
    unsigned long window;
};

static void parse_params(struct params *p, char **argv, int nargs, int bench)
{
    if (nargs < 3 || nargs > 4)
        usage();
    p->suite = (int) parse_long(argv[0], "SUITE", 1, 4);
    const struct suite *s = &SUITES[p->suite];
    parse_hex(argv[1], "KEYHEX", p->master, s->key_len);
    parse_hex(argv[2], "SALTHEX", p->master + s->key_len, s->salt_len);
    p->window = 128;
    if (nargs == 4 && !bench)
        p->window = (unsigned long) parse_long(argv[3], "WINDOW", 64, 0x7FFF);
}

static const char *status_name(srtp_err_status_t st)
{
    switch (st)
    {
    case srtp_err_status_ok: return "ok";
    case srtp_err_status_fail: return "fail";
    case srtp_err_status_bad_param: return "bad_param";
    case srtp_err_status_alloc_fail: return "alloc_fail";
    case srtp_err_status_init_fail: return "init_fail";
    case srtp_err_status_auth_fail: return "auth_fail";
    case srtp_err_status_cipher_fail: return "cipher_fail";
    case srtp_err_status_replay_fail: return "replay_fail";
    case srtp_err_status_replay_old: return "replay_old";
    case srtp_err_status_algo_fail: return "algo_fail";
    case srtp_err_status_no_ctx: return "no_ctx";
    case srtp_err_status_key_expired: return "key_expired";
    default: return "error";
    }
}

static srtp_t open_session(const struct params *p, srtp_ssrc_type_t direction)
{
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    switch (p->suite)
    {
    case 1:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        break;
    case 2:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
        /* SRTCP keeps the 80-bit tag for this suite (RFC 4568 6.2.2): see the header comment. */
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        break;
    case 3:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        break;
    case 4:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
        break;
    default:
        die(2, "bad SUITE %d", p->suite);
    }
    policy.ssrc.type = direction;
    policy.ssrc.value = 0;
    policy.key = (unsigned char *) p->master;
    policy.window_size = p->window;
    policy.allow_repeat_tx = 0;
    policy.next = NULL;
    srtp_t session = NULL;
    srtp_err_status_t st = srtp_create(&session, &policy);
    if (st != srtp_err_status_ok)
    {
        if (p->suite >= 3)
            die(1, "srtp_create(%s) failed: %s (%d): this libsrtp2 was built without AES-GCM"
                   " (Debian's libsrtp2-1 has it, through NSS or OpenSSL)",
                SUITES[p->suite].name, status_name(st), (int) st);
        die(1, "srtp_create(%s) failed: %s (%d)", SUITES[p->suite].name, status_name(st), (int) st);
    }
    return session;
}

/* ---- filter ----------------------------------------------------------------------------- */

enum op { OP_PROTECT, OP_UNPROTECT, OP_PROTECT_RTCP, OP_UNPROTECT_RTCP };

/* Reads exactly n bytes; returns 0 at a clean end of input before the first byte. */
static int read_exact(uint8_t *buf, size_t n, int eof_ok)
{
    size_t got = 0;
    while (got < n)
    {
        size_t k = fread(buf + got, 1, n - got, stdin);
        if (k == 0)
        {
            if (ferror(stdin))
                die(1, "cannot read stdin: %s", strerror(errno));
            if (got == 0 && eof_ok)
                return 0;
            die(1, "stdin ends inside a packet record (%zu of %zu bytes): each packet is a u16 big-endian"
                   " length then that many bytes", got, n);
        }
        got += k;
    }
    return 1;
}

static void write_all(const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0)
    {
        size_t n = fwrite(p, 1, len, stdout);
        if (n == 0)
            die(1, "cannot write stdout: %s", ferror(stdout) ? strerror(errno) : "short write");
        p += n;
        len -= n;
    }
}

static int cmd_filter(enum op op, const struct params *p)
{
    srtp_t session = open_session(p, (op == OP_PROTECT || op == OP_PROTECT_RTCP) ? ssrc_any_outbound : ssrc_any_inbound);
    /* Aligned, and with room for the trailer srtp_protect*() appends. */
    static uint32_t work32[(MAX_PACKET + SRTP_MAX_TRAILER_LEN + 16) / 4 + 1];
    uint8_t *work = (uint8_t *) work32;
    uint8_t hdr[3];
    for (;;)
    {
        uint8_t lenbuf[2];
        if (!read_exact(lenbuf, 2, 1))
            break;
        size_t n = (size_t) lenbuf[0] << 8 | lenbuf[1];
        if (n > 0)
            read_exact(work, n, 0);
        int len = (int) n;
        srtp_err_status_t st;
        switch (op)
        {
        case OP_PROTECT:
            /* srtp_protect() may write SRTP_MAX_TRAILER_LEN past the packet: the buffer has it. */
            st = srtp_protect(session, work, &len);
            break;
        case OP_UNPROTECT:
            st = srtp_unprotect(session, work, &len);
            break;
        case OP_PROTECT_RTCP:
            st = srtp_protect_rtcp(session, work, &len);
            break;
        default:
            st = srtp_unprotect_rtcp(session, work, &len);
            break;
        }
        if (st != srtp_err_status_ok || len < 0 || len > MAX_PACKET)
        {
            hdr[0] = (uint8_t) (st != srtp_err_status_ok ? st : srtp_err_status_fail);
            hdr[1] = hdr[2] = 0;
            write_all(hdr, 3);
            continue;
        }
        hdr[0] = 0;
        hdr[1] = (uint8_t) (len >> 8);
        hdr[2] = (uint8_t) len;
        write_all(hdr, 3);
        write_all(work, (size_t) len);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        die(1, "cannot write stdout: %s", strerror(errno));
    srtp_dealloc(session);
    return 0;
}

/* ---- bench ------------------------------------------------------------------------------ */

static double now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die(1, "clock_gettime(CLOCK_MONOTONIC): %s", strerror(errno));
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static uint64_t fold(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001B3ULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t) n, sizeof(double), cmp_double);
    return (n & 1) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

#define BENCH_LEN (BENCH_HEADER + BENCH_PAYLOAD)
#define BENCH_SSRC 0x1234ABCDu

/* The benchmark's plaintext: V=2, PT 9 (G.722), seq 0, timestamp 0, a fixed SSRC, a payload pattern. */
static void bench_packet(uint8_t *pkt)
{
    pkt[0] = 0x80;
    pkt[1] = 9;
    memset(pkt + 2, 0, 6);
    pkt[8] = (uint8_t) (BENCH_SSRC >> 24);
    pkt[9] = (uint8_t) (BENCH_SSRC >> 16);
    pkt[10] = (uint8_t) (BENCH_SSRC >> 8);
    pkt[11] = (uint8_t) BENCH_SSRC;
    for (int i = 0; i < BENCH_PAYLOAD; i++)
        pkt[BENCH_HEADER + i] = (uint8_t) (i * 37 + 11);
}

static void set_seq_ts(uint8_t *pkt, uint32_t k)
{
    uint16_t seq = (uint16_t) k;
    uint32_t ts = k * 160u;
    pkt[2] = (uint8_t) (seq >> 8);
    pkt[3] = (uint8_t) seq;
    pkt[4] = (uint8_t) (ts >> 24);
    pkt[5] = (uint8_t) (ts >> 16);
    pkt[6] = (uint8_t) (ts >> 8);
    pkt[7] = (uint8_t) ts;
}

/* Protect `count` packets continuing the sender's sequence at *k; returns the elapsed ns. */
static double time_protect(srtp_t tx, const uint8_t *plain, uint8_t *work, long count, uint32_t *k, uint64_t *sum)
{
    uint64_t h = *sum;
    uint32_t next = *k;
    double t0 = now_ns();
    for (long i = 0; i < count; i++)
    {
        memcpy(work, plain, BENCH_LEN);
        set_seq_ts(work, next++);
        int len = BENCH_LEN;
        srtp_err_status_t st = srtp_protect(tx, work, &len);
        if (st != srtp_err_status_ok)
            die(1, "bench: srtp_protect failed: %s (%d)", status_name(st), (int) st);
        h = fold(h, (uint64_t) len ^ work[len - 1]);
    }
    double t1 = now_ns();
    *k = next;
    *sum = h;
    return t1 - t0;
}

/* Unprotect `count` packets cycling over the ring, a fresh receiver per pass; returns timed ns. */
static double time_unprotect(const struct params *p, const uint8_t *ring, int plen, uint8_t *work, long count,
                             uint64_t *sum)
{
    uint64_t h = *sum;
    double total = 0;
    long done = 0;
    while (done < count)
    {
        long pass = count - done < BENCH_RING ? count - done : BENCH_RING;
        srtp_t rx = open_session(p, ssrc_any_inbound);
        double t0 = now_ns();
        for (long i = 0; i < pass; i++)
        {
            memcpy(work, ring + (size_t) i * (size_t) plen, (size_t) plen);
            int len = plen;
            srtp_err_status_t st = srtp_unprotect(rx, work, &len);
            if (st != srtp_err_status_ok)
                die(1, "bench: srtp_unprotect failed: %s (%d)", status_name(st), (int) st);
            h = fold(h, (uint64_t) len ^ work[len - 1]);
        }
        total += now_ns() - t0;
        srtp_dealloc(rx);
        done += pass;
    }
    *sum = h;
    return total;
}

static long auto_count(double ns, long n)
{
    double per = ns / (double) n;
    if (per <= 0.0)
        per = 1.0;
    double c = BENCH_TARGET_NS / per;
    if (c < (double) BENCH_RING)
        c = (double) BENCH_RING;
    if (c > 1e9)
        c = 1e9;
    return (long) c;
}

static int cmd_bench(const struct params *p, long per_run)
{
    static uint32_t work32[(BENCH_LEN + SRTP_MAX_TRAILER_LEN + 16) / 4 + 1];
    uint8_t *work = (uint8_t *) work32;
    uint8_t plain[BENCH_LEN];
    bench_packet(plain);

    /* The ring the unprotect benchmark reads: BENCH_RING consecutive packets, protected once. */
    srtp_t gen = open_session(p, ssrc_any_outbound);
    int plen = 0;
    uint8_t *ring = NULL;
    for (uint32_t i = 0; i < BENCH_RING; i++)
    {
        memcpy(work, plain, BENCH_LEN);
        set_seq_ts(work, i);
        int len = BENCH_LEN;
        srtp_err_status_t st = srtp_protect(gen, work, &len);
        if (st != srtp_err_status_ok)
            die(1, "bench: srtp_protect failed: %s (%d)", status_name(st), (int) st);
        if (ring == NULL)
        {
            plen = len;
            ring = xmalloc((size_t) plen * BENCH_RING);
        }
        if (len != plen)
            die(1, "bench: protected packets of different lengths (%d, %d)", plen, len);
        memcpy(ring + (size_t) i * (size_t) plen, work, (size_t) plen);
    }
    srtp_dealloc(gen);

    srtp_t tx = open_session(p, ssrc_any_outbound);
    uint32_t k = 0;
    uint64_t sum = 0xCBF29CE484222325ULL;
    /* Warm-up (caches, branch predictors, CPU clock), which also calibrates the run length. */
    double tp = time_protect(tx, plain, work, BENCH_RING, &k, &sum);
    double tu = time_unprotect(p, ring, plen, work, BENCH_RING, &sum);
    long pc = per_run > 0 ? per_run : auto_count(tp, BENCH_RING);
    long uc = per_run > 0 ? per_run : auto_count(tu, BENCH_RING);

    double pns[BENCH_RUNS], uns[BENCH_RUNS];
    for (int r = 0; r < BENCH_RUNS; r++)
    {
        pns[r] = time_protect(tx, plain, work, pc, &k, &sum) / (double) pc;
        uns[r] = time_unprotect(p, ring, plen, work, uc, &sum) / (double) uc;
    }
    srtp_dealloc(tx);
    printf("{\"protectNs\":%.1f,\"unprotectNs\":%.1f,\"packetsPerRun\":{\"protect\":%ld,\"unprotect\":%ld},"
           "\"runs\":%d,\"suite\":%d,\"packetBytes\":%d,\"protectedBytes\":%d,\"checksum\":\"%016" PRIx64 "\"}\n",
           median(pns, BENCH_RUNS), median(uns, BENCH_RUNS), pc, uc, BENCH_RUNS, p->suite, BENCH_LEN, plen, sum);
    if (fflush(stdout) != 0 || ferror(stdout))
        die(1, "cannot write stdout: %s", strerror(errno));
    free(ring);
    return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    int nargs = argc - 2;
    int is_bench = strcmp(cmd, "bench") == 0;
    enum op op = OP_PROTECT;
    if (strcmp(cmd, "protect") == 0)
        op = OP_PROTECT;
    else if (strcmp(cmd, "unprotect") == 0)
        op = OP_UNPROTECT;
    else if (strcmp(cmd, "protect-rtcp") == 0)
        op = OP_PROTECT_RTCP;
    else if (strcmp(cmd, "unprotect-rtcp") == 0)
        op = OP_UNPROTECT_RTCP;
    else if (!is_bench)
        die(2, "unknown command '%s'; commands: protect unprotect protect-rtcp unprotect-rtcp bench", cmd);

    struct params p;
    parse_params(&p, argv + 2, nargs, is_bench);
    srtp_err_status_t st = srtp_init();
    if (st != srtp_err_status_ok)
        die(1, "srtp_init failed: %s (%d)", status_name(st), (int) st);
    int rc;
    if (is_bench)
        rc = cmd_bench(&p, nargs == 4 ? parse_long(argv[5], "PACKETS_PER_RUN", 0, 1000000000L) : 0);
    else
        rc = cmd_filter(op, &p);
    srtp_shutdown();
    return rc;
}
