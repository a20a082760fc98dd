/* gen.c: ember-gen, a deterministic generator of the "sales" CSV data set the benchmarks and
 * tests read. Standalone (libc and libm only): the same arguments give the same bytes anywhere.
 *
 * Columns: id,category,region,user_id,qty,price. Categories are uniform over 1000 names, or
 * Zipf-distributed with --skew S > 0 so group-by can be tested on a hot key.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CATEGORY_COUNT 1000
#define USERS_PER_ROW  10 /* user_id spans rows / 10 ids, so each user has about 10 rows */
#define QTY_MAX        100
#define PRICE_MIN      50    /* cents: 0.50 */
#define PRICE_MAX      99999 /* cents: 999.99 */
#define BUFFER_SIZE    (1u << 20)
/* Longest row: 20-digit id, 8-byte category, 5-byte region, 20-digit user, 3-digit qty,
 * 6-byte price, 5 commas and a newline, rounded up generously. */
#define ROW_MAX 128

static const char *const REGIONS[] = {"EU", "US", "APAC", "LATAM", "MEA", "CA", "UK", "ANZ"};
#define REGION_COUNT (sizeof REGIONS / sizeof REGIONS[0])

static const char HEADER[] = "id,category,region,user_id,qty,price\n";

/* splitmix64: tiny, fast, and fully specified by integer arithmetic, so its stream is the same
 * on every machine (rand() is neither). */
typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A value in [0, n). Multiply-shift on the high 32 bits avoids a division; its bias is below
 * n / 2^32, invisible for the ranges used here. Huge ranges fall back to a modulo. */
static uint64_t rng_below(rng *r, uint64_t n) {
    uint64_t x = rng_next(r);
    if (n <= UINT32_MAX)
        return ((x >> 32) * n) >> 32;
    return x % n;
}

/* A double in [0, 1) from the top 53 bits. */
static double rng_unit(rng *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Output buffer: rows are formatted straight into it and written in 1 MiB blocks. */
typedef struct output {
    FILE *file;
    const char *path;
    char *data;
    size_t used;
} output;

static void die(int code, const char *format, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("ember-gen: error: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(code);
}

static void output_flush(output *out) {
    if (out->used && fwrite(out->data, 1, out->used, out->file) != out->used)
        die(1, "writing %s: %s", out->path, strerror(errno));
    out->used = 0;
}

/* Digits of v, most significant first; returns the new end. */
static char *put_u64(char *p, uint64_t v) {
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = digits[--n];
    return p;
}

static char *put_str(char *p, const char *s) {
    while (*s)
        *p++ = *s++;
    return p;
}

/* Zipf CDF over the categories: P(k) proportional to 1 / (k + 1)^s, so cat_0000 is the most
 * frequent. Built once; each draw is a binary search. */
static double *zipf_cdf_create(double s) {
    double *cdf = malloc(CATEGORY_COUNT * sizeof *cdf);
    if (!cdf)
        die(1, "out of memory");
    double total = 0.0;
    for (int k = 0; k < CATEGORY_COUNT; k++) {
        total += 1.0 / pow((double)(k + 1), s);
        cdf[k] = total;
    }
    for (int k = 0; k < CATEGORY_COUNT; k++)
        cdf[k] /= total;
    cdf[CATEGORY_COUNT - 1] = 1.0; /* rounding must not leave a gap at the top */
    return cdf;
}

/* The first k with u < cdf[k]. */
static int zipf_draw(const double *cdf, double u) {
    int low = 0, high = CATEGORY_COUNT - 1;
    while (low < high) {
        int mid = low + (high - low) / 2;
        if (u < cdf[mid])
            high = mid;
        else
            low = mid + 1;
    }
    return low;
}

static void usage(FILE *to) {
    fputs("Usage: ember-gen --rows N [--seed S] [--skew S] [--output PATH]\n"
          "\n"
          "Writes a deterministic sales CSV (id,category,region,user_id,qty,price).\n"
          "\n"
          "Options:\n"
          "  --rows N       data rows to write (required)\n"
          "  --seed S       PRNG seed, an unsigned 64-bit integer (default 42)\n"
          "  --skew S       Zipf exponent for the category column; 0 (default) is uniform\n"
          "  --output PATH  file to write (default: standard output)\n"
          "  --help         show this help\n",
          to);
}

/* Strict unsigned parse: digits only, no sign, no overflow. */
static bool parse_u64(const char *text, uint64_t *out) {
    if (*text < '0' || *text > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return false;
    *out = (uint64_t)v;
    return true;
}

static bool parse_skew(const char *text, double *out) {
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < 0.0 || v > 100.0)
        return false;
    *out = v;
    return true;
}

typedef struct gen_args {
    uint64_t rows;
    uint64_t seed;
    double skew;
    const char *output;
} gen_args;

static void parse_args(int argc, char **argv, gen_args *args) {
    static const struct option options[] = {
        {"rows", required_argument, NULL, 'r'}, {"seed", required_argument, NULL, 's'},
        {"skew", required_argument, NULL, 'k'}, {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    bool have_rows = false;
    args->seed = 42;
    args->skew = 0.0;
    args->output = NULL;
    opterr = 0; /* our own messages, in our own format */
    int c;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (!parse_u64(optarg, &args->rows))
                die(2, "--rows must be a non-negative integer, got '%s'", optarg);
            have_rows = true;
            break;
        case 's':
            if (!parse_u64(optarg, &args->seed))
                die(2, "--seed must be an unsigned 64-bit integer, got '%s'", optarg);
            break;
        case 'k':
            if (!parse_skew(optarg, &args->skew))
                die(2, "--skew must be a number from 0 to 100, got '%s'", optarg);
            break;
        case 'o':
            args->output = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            die(2, "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt)
                die(2, "unknown option '-%c' (see ember-gen --help)", optopt);
            die(2, "unknown option '%s' (see ember-gen --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die(2, "unexpected argument '%s' (see ember-gen --help)", argv[optind]);
    if (!have_rows)
        die(2, "--rows is required (see ember-gen --help)");
}

static void generate(const gen_args *args, output *out) {
    rng r = {args->seed};
    double *cdf = args->skew > 0.0 ? zipf_cdf_create(args->skew) : NULL;
    uint64_t users = args->rows / USERS_PER_ROW;
    if (users < 1)
        users = 1;

    memcpy(out->data, HEADER, sizeof HEADER - 1);
    out->used = sizeof HEADER - 1;
    for (uint64_t id = 1; id <= args->rows; id++) {
        if (out->used > BUFFER_SIZE - ROW_MAX)
            output_flush(out);
        char *p = out->data + out->used;

        int category = cdf ? zipf_draw(cdf, rng_unit(&r)) : (int)rng_below(&r, CATEGORY_COUNT);
        const char *region = REGIONS[rng_below(&r, REGION_COUNT)];
        uint64_t user = 1 + rng_below(&r, users);
        unsigned qty = 1 + (unsigned)rng_below(&r, QTY_MAX);
        unsigned cents = PRICE_MIN + (unsigned)rng_below(&r, PRICE_MAX - PRICE_MIN + 1);

        p = put_u64(p, id);
        p = put_str(p, ",cat_");
        *p++ = (char)('0' + category / 1000);
        *p++ = (char)('0' + category / 100 % 10);
        *p++ = (char)('0' + category / 10 % 10);
        *p++ = (char)('0' + category % 10);
        *p++ = ',';
        p = put_str(p, region);
        *p++ = ',';
        p = put_u64(p, user);
        *p++ = ',';
        p = put_u64(p, qty);
        *p++ = ',';
        p = put_u64(p, cents / 100);
        *p++ = '.';
        *p++ = (char)('0' + cents / 10 % 10);
        *p++ = (char)('0' + cents % 10);
        *p++ = '\n';
        out->used = (size_t)(p - out->data);
    }
    output_flush(out);
    free(cdf);
}

int main(int argc, char **argv) {
    gen_args args;
    parse_args(argc, argv, &args);

    output out = {stdout, "standard output", NULL, 0};
    if (args.output) {
        out.file = fopen(args.output, "wb");
        if (!out.file)
            die(1, "cannot open %s: %s", args.output, strerror(errno));
        out.path = args.output;
    }
    out.data = malloc(BUFFER_SIZE);
    if (!out.data)
        die(1, "out of memory");

    generate(&args, &out);

    free(out.data);
    /* A full disk often shows only at close, so its result counts as much as fwrite's. */
    if (fflush(out.file) != 0 || ferror(out.file))
        die(1, "writing %s: %s", out.path, strerror(errno));
    if (out.file != stdout && fclose(out.file) != 0)
        die(1, "writing %s: %s", out.path, strerror(errno));
    return 0;
}
