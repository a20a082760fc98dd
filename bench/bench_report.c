/* bench_report.c: ember-bench's output: one JSON object per trial (machine-readable, one per
 * line) and the human table of medians printed at the end. */
#include <string.h>

#include "bench.h"

void bench_json_string(FILE *out, const char *text) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* A phase the library does not report on its own is null, never a made-up number. */
static void json_phase(FILE *out, const char *name, double seconds, bool known, bool last) {
    fprintf(out, "\"%s\":", name);
    if (known)
        fprintf(out, "%.6f", seconds);
    else
        fputs("null", out);
    fputs(last ? "" : ",", out);
}

static void json_head(FILE *out, const bench_query *query, const char *mode, const char *path,
                      int trial) {
    fprintf(out, "{\"query\":\"%s\",\"mode\":\"%s\",\"description\":", query->name, mode);
    bench_json_string(out, query->description);
    fputs(",\"file\":", out);
    if (path)
        bench_json_string(out, path);
    else
        fputs("null", out);
    if (trial > 0)
        fprintf(out, ",\"trial\":%d", trial);
}

void bench_report_trial(FILE *out, const bench_query *query, const char *path, int trial,
                        const bench_result *r) {
    const bench_phases *p = &r->phases;
    json_head(out, query, "in_process", path, trial);
    fputs(",\"device\":", out);
    bench_json_string(out, r->device);
    fprintf(out,
            ",\"rows\":%lld,\"bytes\":%lld,\"result_rows\":%lld,\"valid\":%s,\"seconds\":%.6f,"
            "\"phases\":{",
            (long long)r->rows, (long long)r->bytes, (long long)r->result_rows,
            r->valid ? "true" : "false", r->seconds);
    json_phase(out, "split", p->split, true, false);
    json_phase(out, "parse", 0, false, false);
    json_phase(out, "upload", 0, false, false);
    json_phase(out, "kernels", 0, false, false);
    json_phase(out, "scan", p->scan, true, false);
    json_phase(out, "cache", p->cache, true, false);
    json_phase(out, "merge", p->merge, true, false);
    json_phase(out, "download", 0, false, false);
    json_phase(out, "count", p->count, true, false);
    json_phase(out, "other", p->other, true, true);
    fprintf(out, "},\"scan_passes\":%d", p->scan_stages);
    fputs(",\"phase_note\":\"parse, upload and kernels run fused in the scan stage (cache stage "
          "when cached); download is inside merge\"",
          out);
    if (r->run_count) {
        fprintf(out, ",\"load_seconds\":%.6f,\"runs\":[", r->load_seconds);
        for (int i = 0; i < r->run_count; i++)
            fprintf(out, "%s%.6f", i ? "," : "", r->runs[i]);
        fputc(']', out);
    }
    fputs("}\n", out);
    fflush(out);
}

void bench_report_skipped(FILE *out, const bench_query *query, const char *reason) {
    json_head(out, query, "in_process", NULL, 0);
    fputs(",\"skipped\":true,\"reason\":", out);
    bench_json_string(out, reason);
    fputs("}\n", out);
    fflush(out);
}

void bench_report_process(FILE *out, const bench_query *query, const char *mode, const char *path,
                          int trial, const char *command, double seconds, double inner_seconds) {
    json_head(out, query, mode, path, trial);
    fputs(",\"command\":", out);
    bench_json_string(out, command);
    fprintf(out, ",\"seconds\":%.6f", seconds);
    if (inner_seconds >= 0)
        fprintf(out, ",\"in_process_seconds\":%.6f", inner_seconds);
    fputs("}\n", out);
    fflush(out);
}

void bench_report_limit(FILE *out, const char *name, const char *what, int64_t bytes,
                        double seconds, double rate) {
    fprintf(out, "{\"query\":\"%s\",\"mode\":\"limit\",\"description\":", name);
    bench_json_string(out, what);
    fprintf(out, ",\"bytes\":%lld,\"seconds\":%.6f,\"bytes_per_second\":%.0f}\n", (long long)bytes,
            seconds, rate);
    fflush(out);
}

/* "1.234" or "-" for a figure that was not measured. */
static const char *figure(char *buffer, size_t size, double seconds) {
    if (seconds < 0)
        return "-";
    snprintf(buffer, size, "%.3f", seconds);
    return buffer;
}

void bench_table_header(FILE *out, const char *device, int trials) {
    fprintf(out,
            "\n# ember-bench: medians of %d trial%s on %s (seconds; phases from job "
            "metrics; scan = parse + upload + kernels, fused)\n",
            trials, trials == 1 ? "" : "s", device);
    fprintf(out, "%-4s %-54s %9s %9s %9s %7s %7s %7s %7s %7s %s\n", "id", "query", "in-proc",
            "Mrows/s", "cli", "split", "scan", "cache", "merge", "other", "result");
}

void bench_table_row(FILE *out, const bench_query *query, const bench_table_figures *f) {
    char a[32], b[32], c[32], d[32], e[32], g[32], h[32], rate[32];
    snprintf(rate, sizeof rate, "%.1f", f->seconds > 0 ? (double)f->rows / f->seconds / 1e6 : 0);
    fprintf(out, "%-4s %-54s %9s %9s %9s %7s %7s %7s %7s %7s %lld%s\n", query->name,
            query->description, figure(a, sizeof a, f->seconds), rate,
            figure(b, sizeof b, f->cli_seconds), figure(c, sizeof c, f->phases.split),
            figure(d, sizeof d, f->phases.scan), figure(e, sizeof e, f->phases.cache),
            figure(g, sizeof g, f->phases.merge), figure(h, sizeof h, f->phases.other),
            (long long)f->result_rows, f->valid ? "" : " (CHECK FAILED)");
}

void bench_table_note(FILE *out, const char *id, const char *what, const char *text) {
    fprintf(out, "%-4s %-54s %s\n", id, what, text);
}
