/*
 * A configurable fake plugin for the host's tests, compiled several times with
 * different -D flags by tests/host.rs:
 *   -DMAJOR=n -DMINOR=n   ABI version it claims (default: this header's)
 *   -DOLD_1_0             lays the descriptor out as ABI 1.0 (no `homepage`)
 *   -DTINY                claims a descriptor of 8 bytes
 *   -DENTRY=name          exports this entry symbol instead of csi_plugin_entry_v1
 *   -DEXTRA               appends fields of a future minor after `homepage`
 *   -DRESULT=n            0: a valid report, 1: malformed JSON, 2: an error
 *   -DKEEP_STREAMS        does not release the input streams (the host must)
 *   -DDESCRIBE=n          describe 1: segfaults, 2: aborts, 3: hangs, 4: leaves a
 *                         child process running that holds the worker's pipes
 *   -DLOAD_ABORT          aborts as soon as the library is loaded (initialiser)
 *   -DNAME=text           the plugin's name (default "fake")
 * It counts the release callbacks of the buffers it hands out.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csi_plugin.h"

#ifndef MAJOR
#define MAJOR CSI_PLUGIN_ABI_MAJOR
#endif
#ifndef MINOR
#define MINOR CSI_PLUGIN_ABI_MINOR
#endif
#ifndef ENTRY
#define ENTRY csi_plugin_entry_v1
#endif
#ifndef RESULT
#define RESULT 0
#endif
#ifndef DESCRIBE
#define DESCRIBE 0
#endif
#ifndef NAME
#define NAME "fake"
#endif

#ifdef LOAD_ABORT
__attribute__((constructor)) static void on_load(void) { abort(); }
#endif

static int handed_out = 0;
static int released = 0;

int fake_handed_out(void) { return handed_out; }
int fake_released(void) { return released; }

static void release_bytes(CsiBytes *b) {
  free((void *)b->data);
  b->data = NULL;
  b->len = 0;
  b->release = NULL;
  released++;
}

static int32_t give(CsiBytes *out, const char *text, int32_t status) {
  size_t n = strlen(text);
  char *copy = malloc(n);
  memcpy(copy, text, n);
  out->data = (const uint8_t *)copy;
  out->len = n;
  out->release = release_bytes;
  out->private_data = NULL;
  handed_out++;
  return status;
}

static int32_t describe(CsiBytes *out) {
  if (DESCRIBE == 1) *(volatile int *)0 = 1;
  if (DESCRIBE == 2) abort();
  if (DESCRIBE == 3)
    for (;;) {
    }
  if (DESCRIBE == 4 && fork() == 0) {
    sleep(120);
    _exit(0);
  }
  return give(out, "{\"protocol\":1,\"inputs\":\"both\",\"options\":{}}", CSI_STATUS_OK);
}

static int32_t run(const uint8_t *request, size_t request_len, struct ArrowArrayStream *statistics,
                   struct ArrowArrayStream *rows, CsiBytes *out) {
  (void)request;
  (void)request_len;
#ifndef KEEP_STREAMS
  if (statistics && statistics->release) statistics->release(statistics);
  if (rows && rows->release) rows->release(rows);
#else
  (void)statistics;
  (void)rows;
#endif
  if (RESULT == 1) return give(out, "{\"blocks\": [ {\"type\": \"nonsense\"", CSI_STATUS_OK);
  if (RESULT == 2) return give(out, "the fake plugin failed on purpose", CSI_STATUS_ERROR);
  return give(out, "{\"title\":\"fake\",\"blocks\":[{\"type\":\"markdown\",\"text\":\"from C\"}]}", CSI_STATUS_OK);
}

#ifdef OLD_1_0
/* The descriptor as the ABI 1.0 header declared it. */
typedef struct {
  uint32_t struct_size, abi_major, abi_minor, reserved;
  const char *name, *version, *description;
  int32_t (*describe)(CsiBytes *);
  int32_t (*run)(const uint8_t *, size_t, struct ArrowArrayStream *, struct ArrowArrayStream *, CsiBytes *);
} Descriptor;
#elif defined(EXTRA)
/* A future 1.x descriptor: this header's fields, then more. */
typedef struct {
  CsiPluginV1 base;
  void *future_a;
  uint64_t future_b;
} Descriptor;
#else
typedef CsiPluginV1 Descriptor;
#endif

static Descriptor descriptor;

const void *ENTRY(void) {
  CsiPluginV1 *d = (CsiPluginV1 *)&descriptor;
  d->struct_size = sizeof(Descriptor);
#ifdef TINY
  d->struct_size = 8;
#endif
  d->abi_major = MAJOR;
  d->abi_minor = MINOR;
  d->name = NAME;
  d->version = "9.9.9";
  d->description = "A fake plugin for tests";
  d->describe = describe;
  d->run = run;
#if !defined(OLD_1_0)
  d->homepage = "https://example.org/fake";
#endif
  return &descriptor;
}
