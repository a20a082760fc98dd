/* spark_flow.c: the blueprint's Spark-style flow: read a CSV into partitions, cache it on the
 * device, count it twice (the job metrics show the second count came from the cache),
 * df.repartition(200).groupBy("category").count(), a multi-aggregate group-by, filter and
 * withColumn, and sc.parallelize(range(1000), 50).map(x * 2).collect().
 * Usage: example_spark_flow FILE.csv [PARTITIONS] */
#include <stdio.h>
#include <stdlib.h>

#include "ember.h"

static void print_job(const ember_session *session) {
    const ember_job *job = ember_session_last_job(session);
    printf("  job: %.3f s on %s\n", ember_job_seconds(job), ember_job_device(job));
    int stages = (int)ember_job_metric_get(job, EMBER_JOB_STAGES);
    for (int i = 0; i < stages; i++)
        printf("    stage %d %-6s %5lld tasks %10lld rows %12lld bytes %8.3f s\n", i,
               ember_job_stage_name(job, i),
               (long long)ember_job_stage_metric(job, i, EMBER_STAGE_TASKS),
               (long long)ember_job_stage_metric(job, i, EMBER_STAGE_ROWS),
               (long long)ember_job_stage_metric(job, i, EMBER_STAGE_BYTES),
               ember_job_stage_seconds(job, i));
    printf("    rows read %lld, malformed %lld, dropped %lld, partitions %lld (%lld from cache)\n",
           (long long)ember_job_metric_get(job, EMBER_JOB_ROWS_READ),
           (long long)ember_job_metric_get(job, EMBER_JOB_ROWS_MALFORMED),
           (long long)ember_job_metric_get(job, EMBER_JOB_ROWS_DROPPED),
           (long long)ember_job_metric_get(job, EMBER_JOB_PARTITIONS),
           (long long)ember_job_metric_get(job, EMBER_JOB_PARTITIONS_CACHED));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.csv [PARTITIONS]\n", argv[0]);
        return 2;
    }
    int partitions = argc > 2 ? atoi(argv[2]) : 8;
    ember_session *session = NULL;
    ember_csv_options *options = NULL;
    ember_frame *df = NULL, *grouped = NULL, *shuffled = NULL, *filtered = NULL, *revenue = NULL;
    ember_frame *range = NULL, *doubled = NULL;
    ember_table *table = NULL;
    int exit_code = 1;

    /* spark = SparkSession.builder.getOrCreate() */
    if (ember_session_open(&session, NULL) != EMBER_OK)
        goto fail;
    printf("session on %s, %d host threads\n", ember_session_device_name(session, 0),
           ember_session_threads(session));

    /* df = spark.read.csv(path, header=True, inferSchema=True).repartition(n) */
    options = ember_csv_options_create();
    if (!options || ember_csv_options_set_partitions(options, partitions) != EMBER_OK)
        goto fail;
    if (ember_read_csv(session, argv[1], options, &df) != EMBER_OK)
        goto fail;
    printf("read %s: %d partitions, schema:", argv[1], ember_frame_partition_count(df));
    for (size_t i = 0; i < ember_frame_column_count(df); i++)
        printf(" %s:%s", ember_frame_column_name(df, i),
               ember_type_name(ember_frame_column_type(df, i)));
    printf("\n");

    /* df.cache(); df.count(); df.count() */
    if (ember_cache(df) != EMBER_OK)
        goto fail;
    for (int round = 1; round <= 2; round++) {
        int64_t rows = 0;
        if (ember_count(df, &rows) != EMBER_OK)
            goto fail;
        printf("df.count() #%d = %lld\n", round, (long long)rows);
        print_job(session);
    }

    /* df.repartition(200).groupBy("category").count().orderBy("category").show(5) */
    const char *by_category[] = {"category", NULL};
    if (ember_repartition(df, 200, &shuffled) != EMBER_OK ||
        ember_group_by(shuffled, by_category, NULL, &grouped) != EMBER_OK ||
        ember_collect(grouped, &table) != EMBER_OK || ember_table_sort(table, 1) != EMBER_OK)
        goto fail;
    printf("df.repartition(200) has %d partitions\n", ember_frame_partition_count(shuffled));
    printf("df.repartition(200).groupBy(\"category\").count(): %lld groups\n",
           (long long)ember_table_row_count(table));
    ember_table_print(table, stdout, 5);
    print_job(session);
    ember_table_free(table);
    table = NULL;
    ember_frame_free(grouped);
    grouped = NULL;

    /* df.filter("qty > 10 and region = 'EU'").withColumn("revenue", "price * qty").show(3) */
    if (ember_filter(df, "qty > 10 and region = 'EU'", &filtered) != EMBER_OK ||
        ember_with_column(filtered, "revenue", "price * qty", &revenue) != EMBER_OK)
        goto fail;
    printf("df.filter(\"qty > 10 and region = 'EU'\").withColumn(\"revenue\", \"price * qty\")"
           ".show(3):\n");
    if (ember_show(revenue, 3, stdout) != EMBER_OK)
        goto fail;
    print_job(session);

    /* sc.parallelize(range(1000), 50).map(lambda x: x * 2).collect() */
    if (ember_range(session, 0, 1000, 50, &range) != EMBER_OK ||
        ember_map(range, "value * 2", &doubled) != EMBER_OK ||
        ember_collect(doubled, &table) != EMBER_OK)
        goto fail;
    printf("sc.parallelize(range(1000), 50).map(x * 2).collect(): %lld values: %lld, %lld, %lld, "
           "..., %lld\n",
           (long long)ember_table_row_count(table), (long long)ember_table_int64(table, 0, 0),
           (long long)ember_table_int64(table, 0, 1), (long long)ember_table_int64(table, 0, 2),
           (long long)ember_table_int64(table, 0, ember_table_row_count(table) - 1));
    print_job(session);
    ember_table_free(table);
    table = NULL;

    /* df.groupBy("region").agg(count, sum(qty), min/max/mean(price)) */
    const char *by_region[] = {"region", NULL};
    const char *aggs[] = {"count", "sum:qty", "min:price", "max:price", "mean:price", NULL};
    if (ember_group_by(df, by_region, aggs, &grouped) != EMBER_OK ||
        ember_collect(grouped, &table) != EMBER_OK || ember_table_sort(table, 1) != EMBER_OK)
        goto fail;
    printf("df.groupBy(\"region\").agg(count, sum(qty), min/max/mean(price)):\n");
    ember_table_print(table, stdout, -1);
    print_job(session);
    exit_code = 0;
fail:
    if (exit_code != 0)
        fprintf(stderr, "spark_flow: error: %s\n", ember_session_error(session));
    ember_table_free(table);
    ember_frame_free(grouped);
    ember_frame_free(doubled);
    ember_frame_free(range);
    ember_frame_free(revenue);
    ember_frame_free(filtered);
    ember_frame_free(shuffled);
    ember_frame_free(df);
    ember_csv_options_free(options);
    ember_session_close(session);
    return exit_code;
}
