/*
 * spandsp_ref — the reference side of Tincan's codec tests and benchmarks.
 *
 * A command-line filter over spandsp (Debian: libspandsp-dev, spandsp 0.0.6), whose G.722 is
 * bit-exact with the ITU reference and whose G.711 and PLC are the usual telephony references.
 * Binary on stdin and stdout; nothing but errors (one line, then exit 1 or 2) on stderr, and the
 * one JSON line of bench-g722 on stdout. Built and driven by test/reference/spandsp.ts.
 *
 * "s16le" is signed 16-bit little-endian mono PCM, converted byte by byte (host-order independent).
 *
 *   g722-encode RATE    s16le 16 kHz -> G.722 codes. RATE is 64000, 56000 or 48000.
 *                       One byte per 2 input samples, exactly as spandsp's g722_encode() emits
 *                       them with options 0 (unpacked, 16 kHz linear side):
 *                         64000: bits 7..6 = high-band code (2 bits), bits 5..0 = low band (6 bits)
 *                         56000: the 64 kbit/s byte shifted right by 1: 7 significant bits,
 *                                bits 6..5 = high band, bits 4..0 = low band (5 bits), bit 7 = 0
 *                         48000: the 64 kbit/s byte shifted right by 2: 6 significant bits,
 *                                bits 5..4 = high band, bits 3..0 = low band (4 bits), bits 7..6 = 0
 *                       (the encoder's quantiser is always the 6-bit one; lower rates drop its
 *                       least significant bits, as G.722 specifies). The input must hold an even
 *                       number of samples (G.722 consumes them in pairs).
 *   g722-decode RATE    codes in the same format -> s16le 16 kHz, 2 samples per byte. spandsp's
 *                       decoder ignores the bits above the rate's width.
 *   ulaw-encode         s16le -> one G.711 mu-law byte per sample (spandsp linear_to_ulaw)
 *   ulaw-decode         one byte per sample -> s16le (ulaw_to_linear)
 *   alaw-encode         s16le -> one G.711 A-law byte per sample (linear_to_alaw)
 *   alaw-decode         one byte per sample -> s16le (alaw_to_linear)
 *   plc FRAME_SAMPLES MASKFILE
 *                       s16le (any rate; spandsp's plc_t is tuned for 8 kHz) through spandsp's
 *                       packet loss concealer, FRAME_SAMPLES samples per frame. MASKFILE holds one
 *                       byte per frame: 0 = received, 1 = lost. Received: plc_rx() on the frame and
 *                       the frame as plc_rx() leaves it (it cross-fades the start of the first frame
 *                       after a loss in place). Lost: plc_fillin() and its synthetic frame. Stops at
 *                       the end of the input if the input is shorter than the mask (a last partial
 *                       frame is processed at its own length); frames past the end of the mask
 *                       count as received. Output length == input length.
 *   bench-g722 RATE FRAMES_PER_RUN
 *                       s16le 16 kHz speech on stdin (at least one 20 ms frame; a trailing partial
 *                       frame is ignored). Times G.722 encode of the input in 20 ms frames (320
 *                       samples -> 160 bytes) and decode of the resulting codes, with
 *                       clock_gettime(CLOCK_MONOTONIC). One run = FRAMES_PER_RUN frames, cycling
 *                       over the input with the codec state carried on; FRAMES_PER_RUN 0 = auto,
 *                       as many as take about 0.5 s (at least one pass over the input). Median of
 *                       BENCH_RUNS runs each for encode and for decode. Prints one JSON line:
 *                       {"encodeNsPerFrame":..,"decodeNsPerFrame":..,"frames":<20 ms frames in the
 *                       input>,"framesPerRun":..,"runs":..,"rate":..,"checksum":".."}
 *                       The checksum folds every frame's output so the work cannot be optimised away.
 *
 * Build: gcc -O2 -o spandsp-ref spandsp_ref.c $(pkg-config --cflags --libs spandsp) -lm
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

/* The individual headers, not <spandsp.h>: that one pulls in libtiff's headers for the fax code. */
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/g722.h>
#include <spandsp/plc.h>

#define PROG "spandsp-ref"
#define FRAME_16K 320          /* 20 ms at 16 kHz */
#define CODES_PER_FRAME 160    /* one G.722 byte per 2 samples */
#define BENCH_RUNS 5
#define BENCH_TARGET_NS 500000000.0
#define MAX_FRAME_SAMPLES 1000000L

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
    die(2, "usage: " PROG " g722-encode|g722-decode RATE | ulaw-encode|ulaw-decode|alaw-encode|alaw-decode"
           " | plc FRAME_SAMPLES MASKFILE | bench-g722 RATE FRAMES_PER_RUN  (RATE: 64000|56000|48000)");
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die(1, "out of memory (%zu bytes)", n);
    return p;
}

/* Read a whole stream, looping on short reads. */
static uint8_t *read_all(FILE *f, const char *what, size_t *len_out)
{
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = xmalloc(cap);
    for (;;)
    {
        if (len == cap)
        {
            if (cap > SIZE_MAX / 2)
                die(1, "%s: input too large", what);
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb)
                die(1, "%s: out of memory (%zu bytes)", what, cap);
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
        {
            if (ferror(f))
                die(1, "cannot read %s: %s", what, strerror(errno));
            if (feof(f))
                break;
        }
    }
    *len_out = len;
    return buf;
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

static void finish(void)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        die(1, "cannot write stdout: %s", strerror(errno));
}

/* stdin as s16le: refuses an odd byte count. */
static int16_t *read_s16le(size_t *samples_out)
{
    size_t len;
    uint8_t *bytes = read_all(stdin, "stdin", &len);
    if (len & 1)
        die(1, "stdin holds %zu bytes, an odd count: s16le input must be whole 16-bit samples", len);
    size_t n = len / 2;
    int16_t *pcm = xmalloc(n * sizeof(int16_t));
    for (size_t i = 0; i < n; i++)
        pcm[i] = (int16_t) (uint16_t) (bytes[2 * i] | (bytes[2 * i + 1] << 8));
    free(bytes);
    *samples_out = n;
    return pcm;
}

static void write_s16le(const int16_t *pcm, size_t n)
{
    uint8_t *bytes = xmalloc(n * 2);
    for (size_t i = 0; i < n; i++)
    {
        uint16_t v = (uint16_t) pcm[i];
        bytes[2 * i] = (uint8_t) (v & 0xFF);
        bytes[2 * i + 1] = (uint8_t) (v >> 8);
    }
    write_all(bytes, n * 2);
    free(bytes);
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

static int parse_rate(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || (v != 64000 && v != 56000 && v != 48000))
        die(2, "bad G.722 rate '%s': expected 64000, 56000 or 48000", s);
    return (int) v;
}

/* ---- G.722 ---------------------------------------------------------------------------- */

static int cmd_g722_encode(int rate)
{
    size_t n;
    int16_t *pcm = read_s16le(&n);
    if (n & 1)
        die(1, "stdin holds %zu samples, an odd count: G.722 at 16 kHz encodes samples in pairs", n);
    if (n > INT32_MAX)
        die(1, "input too large");
    g722_encode_state_t *enc = g722_encode_init(NULL, rate, 0);
    if (!enc)
        die(1, "g722_encode_init(%d) failed", rate);
    uint8_t *codes = xmalloc(n / 2);
    int got = n ? g722_encode(enc, codes, pcm, (int) n) : 0;
    if (got < 0 || (size_t) got != n / 2)
        die(1, "g722_encode returned %d codes for %zu samples", got, n);
    write_all(codes, (size_t) got);
    finish();
    g722_encode_free(enc);
    free(codes);
    free(pcm);
    return 0;
}

static int cmd_g722_decode(int rate)
{
    size_t n;
    uint8_t *codes = read_all(stdin, "stdin", &n);
    if (n > INT32_MAX / 2)
        die(1, "input too large");
    g722_decode_state_t *dec = g722_decode_init(NULL, rate, 0);
    if (!dec)
        die(1, "g722_decode_init(%d) failed", rate);
    int16_t *pcm = xmalloc(n * 2 * sizeof(int16_t));
    int got = n ? g722_decode(dec, pcm, codes, (int) n) : 0;
    if (got < 0 || (size_t) got != n * 2)
        die(1, "g722_decode returned %d samples for %zu codes", got, n);
    write_s16le(pcm, (size_t) got);
    finish();
    g722_decode_free(dec);
    free(pcm);
    free(codes);
    return 0;
}

/* ---- G.711 ---------------------------------------------------------------------------- */

static int cmd_g711_encode(int alaw)
{
    size_t n;
    int16_t *pcm = read_s16le(&n);
    uint8_t *codes = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        codes[i] = alaw ? linear_to_alaw(pcm[i]) : linear_to_ulaw(pcm[i]);
    write_all(codes, n);
    finish();
    free(codes);
    free(pcm);
    return 0;
}

static int cmd_g711_decode(int alaw)
{
    size_t n;
    uint8_t *codes = read_all(stdin, "stdin", &n);
    int16_t *pcm = xmalloc(n * sizeof(int16_t));
    for (size_t i = 0; i < n; i++)
        pcm[i] = alaw ? alaw_to_linear(codes[i]) : ulaw_to_linear(codes[i]);
    write_s16le(pcm, n);
    finish();
    free(pcm);
    free(codes);
    return 0;
}

/* ---- PLC ------------------------------------------------------------------------------ */

static int cmd_plc(long frame, const char *mask_path)
{
    FILE *mf = fopen(mask_path, "rb");
    if (!mf)
        die(1, "cannot open mask file %s: %s", mask_path, strerror(errno));
    size_t mask_len;
    uint8_t *mask = read_all(mf, mask_path, &mask_len);
    fclose(mf);
    for (size_t i = 0; i < mask_len; i++)
        if (mask[i] > 1)
            die(1, "mask file %s: byte %zu is %u; expected 0 (received) or 1 (lost)", mask_path, i, mask[i]);

    size_t n;
    int16_t *pcm = read_s16le(&n);
    plc_state_t *plc = plc_init(NULL);
    if (!plc)
        die(1, "plc_init failed");
    for (size_t pos = 0, f = 0; pos < n; pos += (size_t) frame, f++)
    {
        int len = (int) ((n - pos < (size_t) frame) ? n - pos : (size_t) frame);
        if (f < mask_len && mask[f])
            plc_fillin(plc, pcm + pos, len);
        else
            plc_rx(plc, pcm + pos, len);
    }
    write_s16le(pcm, n);
    finish();
    plc_free(plc);
    free(pcm);
    free(mask);
    return 0;
}

/* ---- bench ---------------------------------------------------------------------------- */

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

/* Encode `count` frames, cycling over the input; returns the elapsed ns. */
static double time_encode(g722_encode_state_t *enc, const int16_t *pcm, size_t frames, long count,
                          uint8_t *out, uint64_t *sum)
{
    uint64_t h = *sum;
    double t0 = now_ns();
    for (long k = 0; k < count; k++)
    {
        size_t f = (size_t) k % frames;
        int got = g722_encode(enc, out, pcm + f * FRAME_16K, FRAME_16K);
        h = fold(h, (uint64_t) got ^ out[0] ^ ((uint64_t) out[CODES_PER_FRAME - 1] << 8));
    }
    double t1 = now_ns();
    *sum = h;
    return t1 - t0;
}

static double time_decode(g722_decode_state_t *dec, const uint8_t *codes, size_t frames, long count,
                          int16_t *out, uint64_t *sum)
{
    uint64_t h = *sum;
    double t0 = now_ns();
    for (long k = 0; k < count; k++)
    {
        size_t f = (size_t) k % frames;
        int got = g722_decode(dec, out, codes + f * CODES_PER_FRAME, CODES_PER_FRAME);
        h = fold(h, (uint64_t) got ^ (uint16_t) out[0] ^ ((uint64_t) (uint16_t) out[FRAME_16K - 1] << 16));
    }
    double t1 = now_ns();
    *sum = h;
    return t1 - t0;
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

static long auto_count(double pass_ns, size_t frames)
{
    double per_frame = pass_ns / (double) frames;
    if (per_frame <= 0.0)
        per_frame = 1.0;
    double c = BENCH_TARGET_NS / per_frame;
    if (c < (double) frames)
        c = (double) frames;
    if (c > 1e9)
        c = 1e9;
    return (long) c;
}

static int cmd_bench_g722(int rate, long frames_per_run)
{
    size_t n;
    int16_t *pcm = read_s16le(&n);
    size_t frames = n / FRAME_16K;
    if (frames == 0)
        die(1, "bench-g722 needs at least one 20 ms frame (%d samples) of 16 kHz input; got %zu samples",
            FRAME_16K, n);

    g722_encode_state_t *enc = g722_encode_init(NULL, rate, 0);
    g722_decode_state_t *dec = g722_decode_init(NULL, rate, 0);
    if (!enc || !dec)
        die(1, "g722 init(%d) failed", rate);

    /* The codes the decode benchmark decodes: the whole input, encoded once. */
    uint8_t *codes = xmalloc(frames * CODES_PER_FRAME);
    for (size_t f = 0; f < frames; f++)
        g722_encode(enc, codes + f * CODES_PER_FRAME, pcm + f * FRAME_16K, FRAME_16K);
    g722_encode_init(enc, rate, 0);

    uint8_t enc_out[CODES_PER_FRAME];
    int16_t dec_out[FRAME_16K];
    uint64_t sum = 0xCBF29CE484222325ULL;

    /* Warm-up pass over the whole input (caches, branch predictors, CPU clock), which also
       calibrates the auto run length. */
    double enc_pass = time_encode(enc, pcm, frames, (long) frames, enc_out, &sum);
    double dec_pass = time_decode(dec, codes, frames, (long) frames, dec_out, &sum);
    long enc_count = frames_per_run > 0 ? frames_per_run : auto_count(enc_pass, frames);
    long dec_count = frames_per_run > 0 ? frames_per_run : auto_count(dec_pass, frames);

    double enc_ns[BENCH_RUNS], dec_ns[BENCH_RUNS];
    for (int r = 0; r < BENCH_RUNS; r++)
    {
        enc_ns[r] = time_encode(enc, pcm, frames, enc_count, enc_out, &sum) / (double) enc_count;
        dec_ns[r] = time_decode(dec, codes, frames, dec_count, dec_out, &sum) / (double) dec_count;
    }

    printf("{\"encodeNsPerFrame\":%.1f,\"decodeNsPerFrame\":%.1f,\"frames\":%zu,"
           "\"framesPerRun\":{\"encode\":%ld,\"decode\":%ld},\"runs\":%d,\"rate\":%d,\"checksum\":\"%016" PRIx64 "\"}\n",
           median(enc_ns, BENCH_RUNS), median(dec_ns, BENCH_RUNS), frames, enc_count, dec_count,
           BENCH_RUNS, rate, sum);
    finish();
    g722_encode_free(enc);
    g722_decode_free(dec);
    free(codes);
    free(pcm);
    return 0;
}

/* ---- main ----------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    int nargs = argc - 2;

    if (strcmp(cmd, "g722-encode") == 0 || strcmp(cmd, "g722-decode") == 0)
    {
        if (nargs != 1)
            die(2, "usage: " PROG " %s RATE  (RATE: 64000|56000|48000)", cmd);
        int rate = parse_rate(argv[2]);
        return cmd[5] == 'e' ? cmd_g722_encode(rate) : cmd_g722_decode(rate);
    }
    if (strcmp(cmd, "ulaw-encode") == 0 || strcmp(cmd, "ulaw-decode") == 0
        || strcmp(cmd, "alaw-encode") == 0 || strcmp(cmd, "alaw-decode") == 0)
    {
        if (nargs != 0)
            die(2, "usage: " PROG " %s  (no arguments; data on stdin)", cmd);
        int alaw = cmd[0] == 'a';
        return cmd[5] == 'e' ? cmd_g711_encode(alaw) : cmd_g711_decode(alaw);
    }
    if (strcmp(cmd, "plc") == 0)
    {
        if (nargs != 2)
            die(2, "usage: " PROG " plc FRAME_SAMPLES MASKFILE");
        long frame = parse_long(argv[2], "FRAME_SAMPLES", 1, MAX_FRAME_SAMPLES);
        return cmd_plc(frame, argv[3]);
    }
    if (strcmp(cmd, "bench-g722") == 0)
    {
        if (nargs != 2)
            die(2, "usage: " PROG " bench-g722 RATE FRAMES_PER_RUN  (FRAMES_PER_RUN 0 = about 0.5 s per run)");
        int rate = parse_rate(argv[2]);
        long fpr = parse_long(argv[3], "FRAMES_PER_RUN", 0, 1000000000L);
        return cmd_bench_g722(rate, fpr);
    }
    die(2, "unknown command '%s'; commands: g722-encode g722-decode ulaw-encode ulaw-decode"
           " alaw-encode alaw-decode plc bench-g722", cmd);
}
