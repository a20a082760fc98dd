/* csv_scan.h (private to host/io): the pieces of libcsv's state machine (non-strict, no space
 * trimming) that the record walker (csv_rows.c) and the field counter (csv_scan_fields.c) share, so
 * both follow one model of it. */
#ifndef EMBER_IO_CSV_SCAN_H
#define EMBER_IO_CSV_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { CR = '\r', LF = '\n' };

/* libcsv's parser states, with FIELD_BEGUN split by its quoted flag. */
enum { ROW_NOT_BEGUN, FIELD_NOT_BEGUN, FIELD_UNQUOTED, FIELD_QUOTED, FIELD_MIGHT_HAVE_ENDED };

/* Delimiter, quote, CR and LF are four different bytes, so the order in which libcsv tests them
 * cannot matter and every other byte is plain text: the 64-byte mask scanners rely on it. */
static inline bool scan_plain_dialect(unsigned char delimiter, unsigned char quote) {
    return delimiter != quote && delimiter != CR && delimiter != LF && quote != CR && quote != LF;
}

/* Bytes in the line break at i: two for a CRLF. Taking its LF along is right in every state:
 * after a row-ending CR libcsv skips it as a blank line, and inside quotes it is text. */
static inline size_t scan_line_break_length(const unsigned char *buf, size_t i, size_t len) {
    return buf[i] == CR && i + 1 < len && buf[i + 1] == LF ? 2 : 1;
}

/* Where the quotes, line breaks (CR or LF) and delimiters are among 64 bytes: bit j for byte j. */
typedef struct scan_masks {
    uint64_t quotes, breaks, delimiters;
} scan_masks;

#if !defined(__SSE2__)
/* The high bit of each byte of word that equals the byte in pattern (exactly, unlike the borrow
 * trick, which can flag the byte above a match). */
static inline uint64_t scan_swar_equal(uint64_t word, uint64_t pattern) {
    const uint64_t low7 = UINT64_C(0x7F7F7F7F7F7F7F7F);
    uint64_t x = word ^ pattern;
    return ~(((x & low7) + low7) | x) & ~low7;
}
#endif

/* The masks of the 64 bytes at p, of which avail are real (bits past them are clear). Callers
 * that ignore a mask pay nothing for it: the function is inline and its parts are pure, so the
 * compiler drops the compares that feed it. */
static inline scan_masks scan_block(const unsigned char *p, size_t avail, unsigned char quote,
                                    unsigned char delimiter) {
    unsigned char tail[64];
    if (avail < 64) {
        memcpy(tail, p, avail);
        memset(tail + avail, 0, sizeof tail - avail);
        p = tail;
    }
    scan_masks m = {0, 0, 0};
#if defined(__SSE2__)
    const __m128i quotes = _mm_set1_epi8((char)quote), crs = _mm_set1_epi8(CR),
                  lfs = _mm_set1_epi8(LF), delimiters = _mm_set1_epi8((char)delimiter);
    for (int k = 0; k < 4; k++) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i breaks = _mm_or_si128(_mm_cmpeq_epi8(bytes, crs), _mm_cmpeq_epi8(bytes, lfs));
        m.quotes |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, quotes)) << 16 * k;
        m.breaks |= (uint64_t)(uint32_t)_mm_movemask_epi8(breaks) << 16 * k;
        m.delimiters |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, delimiters))
                        << 16 * k;
    }
#else
    /* Eight bytes per word; the matching bytes' high bits are gathered into one byte by a
     * multiply whose partial products never overlap. */
    const uint64_t ones = UINT64_C(0x0101010101010101), gather = UINT64_C(0x0102040810204080);
    for (int k = 0; k < 8; k++) {
        uint64_t word;
        memcpy(&word, p + 8 * k, sizeof word);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);
#endif
        uint64_t q = scan_swar_equal(word, ones * quote);
        uint64_t b = scan_swar_equal(word, ones * CR) | scan_swar_equal(word, ones * LF);
        uint64_t d = scan_swar_equal(word, ones * delimiter);
        m.quotes |= ((q >> 7) * gather >> 56) << (8 * k);
        m.breaks |= ((b >> 7) * gather >> 56) << (8 * k);
        m.delimiters |= ((d >> 7) * gather >> 56) << (8 * k);
    }
#endif
    if (avail < 64) {
        uint64_t real = (UINT64_C(1) << avail) - 1;
        m.quotes &= real;
        m.breaks &= real;
        m.delimiters &= real;
    }
    return m;
}

/* Hardware popcount by run-time dispatch: the library is built for the baseline ISA (no
 * -mpopcnt, never -march=native), where __builtin_popcountll is a call into libgcc. A scanner
 * written as an always_inline body is instantiated twice, once inside a function compiled with
 * SCAN_TARGET_POPCNT, and scan_have_popcnt() picks one at run time. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define SCAN_TARGET_POPCNT __attribute__((target("popcnt")))
static inline bool scan_have_popcnt(void) {
    return __builtin_cpu_supports("popcnt");
}
#else
#define SCAN_TARGET_POPCNT
static inline bool scan_have_popcnt(void) {
    return false;
}
#endif
#define SCAN_INLINE static inline __attribute__((always_inline))

/* One byte of libcsv's csv_parse, testing in the order it does; the order matters only when the
 * delimiter or the quote is CR, LF or the other one. *row_end is set when the byte submits a
 * row; a return of FIELD_NOT_BEGUN always means a delimiter submitted a field. */
static inline int scan_step(int state, unsigned char c, unsigned char delimiter,
                            unsigned char quote, bool *row_end) {
    bool term = c == CR || c == LF;
    switch (state) {
    case ROW_NOT_BEGUN:
    case FIELD_NOT_BEGUN:
        if (term) {
            *row_end = state == FIELD_NOT_BEGUN;
            return ROW_NOT_BEGUN;
        }
        if (c == delimiter)
            return FIELD_NOT_BEGUN;
        return c == quote ? FIELD_QUOTED : FIELD_UNQUOTED;
    case FIELD_UNQUOTED:
        if (c == quote)
            return FIELD_UNQUOTED;
        if (c == delimiter)
            return FIELD_NOT_BEGUN;
        if (term) {
            *row_end = true;
            return ROW_NOT_BEGUN;
        }
        return FIELD_UNQUOTED;
    case FIELD_QUOTED:
        return c == quote ? FIELD_MIGHT_HAVE_ENDED : FIELD_QUOTED;
    default:
        if (c == delimiter)
            return FIELD_NOT_BEGUN;
        if (term) {
            *row_end = true;
            return ROW_NOT_BEGUN;
        }
        return FIELD_QUOTED;
    }
}

#endif
