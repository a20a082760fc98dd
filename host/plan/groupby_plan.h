/* groupby_plan.h: a group-by as planned from the user's key names and aggregate texts
 * ("count", "sum:qty as total"): resolved against the input's schema before anything runs. */
#ifndef EMBER_PLAN_GROUPBY_PLAN_H
#define EMBER_PLAN_GROUPBY_PLAN_H

#include "ember.h"
#include "common/error.h"
#include "io/schema.h"

typedef enum ember_agg_kind {
    EMBER_AGG_COUNT_ROWS,
    EMBER_AGG_COUNT,
    EMBER_AGG_SUM,
    EMBER_AGG_MIN,
    EMBER_AGG_MAX,
    EMBER_AGG_MEAN,
} ember_agg_kind;

typedef struct ember_agg_spec {
    ember_agg_kind kind;
    int column;            /* input column; -1 for COUNT_ROWS */
    ember_type input_type; /* the input column's type */
    ember_type output_type;
} ember_agg_spec;

typedef struct ember_groupby_plan {
    int key_count;
    int keys[EMBER_GROUP_BY_MAX_KEYS];
    int agg_count;
    ember_agg_spec *aggs;
} ember_groupby_plan;

/* Resolves keys and aggregate texts against input; fills *plan (allocated) and output (the
 * key columns, then one column per aggregate). Errors name the problem and, for an unknown
 * column, list the columns. */
ember_status ember_groupby_plan_create(const ember_schema *input, const char *const *keys,
                                       const char *const *aggregates, ember_groupby_plan **plan,
                                       ember_schema *output, ember_error *err);
void ember_groupby_plan_free(ember_groupby_plan *plan);
/* After input's types changed (a CSV column widened): the aggregates' types and output's. */
ember_status ember_groupby_plan_refresh(ember_groupby_plan *plan, const ember_schema *input,
                                        ember_schema *output, ember_error *err);

#endif
