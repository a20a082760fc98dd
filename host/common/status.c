/* status.c: names of status codes and types, generated from the X-macro in ember.h so the
 * enum and its text can never drift apart. */
#include "ember.h"

const char *ember_status_str(ember_status status) {
    switch (status) {
#define EMBER_STATUS_TEXT_(name, number, text)                                                     \
    case name:                                                                                     \
        return text;
        EMBER_STATUS_LIST(EMBER_STATUS_TEXT_)
#undef EMBER_STATUS_TEXT_
    }
    return "unknown status";
}

const char *ember_version(void) {
#define EMBER_STR2_(x) #x
#define EMBER_STR_(x)  EMBER_STR2_(x)
    return EMBER_STR_(EMBER_VERSION_MAJOR) "." EMBER_STR_(EMBER_VERSION_MINOR) "." EMBER_STR_(
        EMBER_VERSION_PATCH);
}

const char *ember_type_name(ember_type type) {
    switch (type) {
    case EMBER_TYPE_INT64:
        return "int64";
    case EMBER_TYPE_FLOAT64:
        return "float64";
    case EMBER_TYPE_STRING:
        return "string";
    case EMBER_TYPE_BOOL:
        return "bool";
    }
    return "unknown";
}
