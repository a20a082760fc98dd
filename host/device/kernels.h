/* kernels.h: the OpenCL C sources of kernels/NAME.cl, embedded into the library at build time as
 * byte arrays (see cmake/embed_kernels.cmake), so nothing is looked up at run time. */
#ifndef EMBER_DEVICE_KERNELS_H
#define EMBER_DEVICE_KERNELS_H

#include <stddef.h>

/* The source of kernels/<name>.cl (name without directory or extension), or NULL. */
const char *ember_kernel_source(const char *name, size_t *len);

#endif
