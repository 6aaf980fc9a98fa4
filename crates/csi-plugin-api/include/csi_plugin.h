/*
 * csi analysis-plugin ABI, version 1.
 *
 * A plugin is a shared library exporting one function, `csi_plugin_entry_v1`, that
 * returns a pointer to a static `CsiPluginV1` descriptor. The host reads
 * `struct_size`, `abi_major` and `abi_minor` first and refuses the plugin unless the
 * major version is 1 and the struct is at least as large as ABI 1.0's; only then does
 * it read the other fields. Minor versions only ever append fields at the end, and
 * the host reads an appended field only if the plugin's `abi_minor` and
 * `struct_size` show it has it: a plugin built against an older 1.x header keeps
 * loading. History: 1.0 up to `run`; 1.1 appends `homepage`.
 *
 * Data crosses as JSON bytes (requests, descriptions, results) and as Apache Arrow C
 * streams (statistics and respondent rows). Whoever allocates a buffer frees it: a
 * `CsiBytes` returned by the plugin carries the plugin's own `release` callback, which
 * the host calls exactly once. Arrow streams carry their own release callbacks.
 *
 * This header is checked against the Rust definitions in crates/csi-plugin-api by
 * the test suite. See docs/plugins.md.
 */
#ifndef CSI_PLUGIN_H
#define CSI_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CSI_PLUGIN_ABI_MAJOR 1
#define CSI_PLUGIN_ABI_MINOR 1
#define CSI_PLUGIN_ENTRY_SYMBOL "csi_plugin_entry_v1"

/* Status codes returned by `describe` and `run`. */
#define CSI_STATUS_OK 0
#define CSI_STATUS_ERROR 1 /* `out` holds a UTF-8 error message */
#define CSI_STATUS_PANIC 2 /* the plugin caught a crash; `out` may hold a message */

/* Bytes owned by whoever filled them; `release` (may be NULL) frees them. The
 * receiver calls `release` exactly once, then never touches `data` again. */
typedef struct CsiBytes {
  const uint8_t *data;
  size_t len;
  void (*release)(struct CsiBytes *self);
  void *private_data;
} CsiBytes;

#ifndef ARROW_FLAG_DICTIONARY_ORDERED
/* Flags of `struct ArrowSchema` (Arrow C data interface). */
#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4
#endif

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
struct ArrowSchema {
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;
  void (*release)(struct ArrowSchema *);
  void *private_data;
};
struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;
  void (*release)(struct ArrowArray *);
  void *private_data;
};
#endif
struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);
  void (*release)(struct ArrowArrayStream *);
  void *private_data;
};
#endif

/* The plugin descriptor, ABI 1.1. */
typedef struct CsiPluginV1 {
  uint32_t struct_size; /* sizeof(CsiPluginV1) as the plugin was compiled */
  uint32_t abi_major;   /* CSI_PLUGIN_ABI_MAJOR */
  uint32_t abi_minor;   /* CSI_PLUGIN_ABI_MINOR */
  uint32_t reserved;    /* zero */
  const char *name;        /* static, NUL-terminated UTF-8: the name studies use */
  const char *version;     /* the plugin's own version, e.g. "1.2.0" */
  const char *description; /* one line */
  /* Writes the plugin's description (JSON) into `out`. */
  int32_t (*describe)(CsiBytes *out);
  /* Runs the analysis for one wave. `request` is JSON (see docs/plugins.md);
   * `statistics` and `rows` are Arrow C streams, NULL when the plugin did not ask
   * for them; the plugin must release the streams it receives. `out` receives the
   * result JSON (report blocks) on success, or an error message. */
  int32_t (*run)(const uint8_t *request, size_t request_len, struct ArrowArrayStream *statistics,
                 struct ArrowArrayStream *rows, CsiBytes *out);
  /* Since 1.1: where to read about the plugin or report problems (static,
   * NUL-terminated; NULL or "" when none). */
  const char *homepage;
} CsiPluginV1;

/* The one exported symbol. */
typedef const CsiPluginV1 *(*CsiPluginEntryV1)(void);

#ifdef __cplusplus
}
#endif

#endif /* CSI_PLUGIN_H */
