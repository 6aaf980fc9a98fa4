/*
 * netscore: a csi analysis plugin in C99 (libc only).
 *
 * "Net satisfaction" of every indicator, computed from the respondent rows: a net
 * score, the weighted share of answers in the study's top box (the scale's
 * `top_box`, from the rows' `csi.top`) minus the share in a bottom box of the same
 * width at the other end, times 100 (a number in [-100, 100]). The top box is the
 * study's, so the "% top box" column is the top-box share the rest of the report
 * shows; a scale without a top box uses its top and bottom two points, and the
 * table says so. For indicators where lower values are better the two ends swap.
 * The table's note states each definition in place ("top box = the top 2 points of
 * the 1–10 scale (9–10), bottom box = the bottom 2 (1–2)"). Indicators are listed
 * weakest first, with a headline (the simple mean of the net scores), a diverging
 * bar chart and a finding naming the weakest three. Text is Chinese when the
 * study's language is `zh`, English otherwise.
 *
 * It reads only the rows stream (`"inputs":"rows"`) and finds its way through the
 * rows' Arrow metadata (see docs/plugins.md, "Respondent rows"): schema metadata
 * `csi.language`; field metadata `csi.role`, and for answers `csi.label`,
 * `csi.min`, `csi.max`, `csi.direction`, `csi.top`, `csi.unit` (present only for
 * non-scale measures, which are skipped). Of the request JSON it reads only the
 * study's decimals (`study.decimals`, since blocks 1.1): `share` for the two box
 * columns, `change` for the net scores (a difference, in the table, the headline
 * and the finding); a request without them (an older host) gets one decimal each.
 *
 * Build standalone as a plugin:
 *   cc -std=c99 -O2 -shared -fPIC -I crates/csi-plugin-api/include \
 *      plugins/netscore/netscore.c -o libnetscore.so
 * With -DCSI_NETSCORE_EMBEDDED the entry function is named `csi_netscore_entry`
 * instead, for the Rust shim crate in this folder that links this file in and
 * exports `csi_plugin_entry_v1` itself.
 */
#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csi_plugin.h"

/* The name studies use; a build can rename it (e.g. to run beside the shipped one). */
#ifndef CSI_NETSCORE_NAME
#define CSI_NETSCORE_NAME "netscore"
#endif

#ifndef CSI_NETSCORE_VERSION
#define CSI_NETSCORE_VERSION "0.1.0"
#endif

#ifdef CSI_NETSCORE_EMBEDDED
#define NETSCORE_ENTRY csi_netscore_entry
#else
#define NETSCORE_ENTRY csi_plugin_entry_v1
#endif

#if defined(_WIN32) && !defined(CSI_NETSCORE_EMBEDDED)
#define NETSCORE_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) && !defined(CSI_NETSCORE_EMBEDDED)
#define NETSCORE_EXPORT __attribute__((visibility("default")))
#else
#define NETSCORE_EXPORT
#endif

/* ------------------------------------------------------------------------- */
/* Output bytes                                                               */
/* ------------------------------------------------------------------------- */

/* Frees a buffer this plugin handed out. `private_data` holds the malloc'd
 * pointer (NULL for static messages). Safe to call twice: everything is cleared. */
static void release_bytes(CsiBytes *self) {
  if (self == NULL) return;
  free(self->private_data);
  self->data = NULL;
  self->len = 0;
  self->private_data = NULL;
  self->release = NULL;
}

/* Hands `data` (malloc'd, or NULL) of `len` bytes to the host. */
static void give_owned(CsiBytes *out, char *data, size_t len) {
  out->data = (const uint8_t *)data;
  out->len = data ? len : 0;
  out->private_data = data;
  out->release = release_bytes;
}

/* Hands a static text to the host (nothing to free; used when memory ran out). */
static void give_static(CsiBytes *out, const char *text) {
  out->data = (const uint8_t *)text;
  out->len = strlen(text);
  out->private_data = NULL;
  out->release = release_bytes;
}

static const char OUT_OF_MEMORY[] = "netscore: out of memory";

/* An error message as the result: copied, or a static fallback. */
static int32_t fail(CsiBytes *out, const char *message) {
  size_t n = strlen(message);
  char *copy = malloc(n + 1);
  if (copy == NULL) {
    give_static(out, OUT_OF_MEMORY);
  } else {
    memcpy(copy, message, n + 1);
    give_owned(out, copy, n);
  }
  return CSI_STATUS_ERROR;
}

/* ------------------------------------------------------------------------- */
/* A growing text buffer                                                      */
/* ------------------------------------------------------------------------- */

typedef struct {
  char *p;
  size_t len;
  size_t cap;
  int failed; /* an allocation failed; the contents are incomplete */
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (b->failed) return 0;
  if (extra > SIZE_MAX - b->len - 1) {
    b->failed = 1;
    return 0;
  }
  need = b->len + extra + 1; /* keep room for a terminating NUL */
  if (need <= b->cap) return 1;
  cap = b->cap ? b->cap : 256;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  p = realloc(b->p, cap);
  if (p == NULL) {
    b->failed = 1;
    return 0;
  }
  b->p = p;
  b->cap = cap;
  return 1;
}

static void buf_add(Buf *b, const char *s, size_t n) {
  if (!buf_reserve(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_char(Buf *b, char c) { buf_add(b, &c, 1); }

static void buf_free(Buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* Length of the valid UTF-8 sequence starting at s[0] (at most `n` bytes
 * available), or 0 if it is not valid UTF-8 (bad lead byte, missing or wrong
 * continuation bytes, overlong form, surrogate, beyond U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len, i;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return len;
}

/* Appends `s` (n bytes) as a JSON string literal: quoted, with quotes, backslashes
 * and control characters escaped and invalid UTF-8 replaced by U+FFFD. */
static void buf_json_str(Buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  buf_char(b, '"');
  while (i < n) {
    unsigned char c = u[i];
    size_t len;
    if (c == '"') {
      buf_add(b, "\\\"", 2);
    } else if (c == '\\') {
      buf_add(b, "\\\\", 2);
    } else if (c == '\n') {
      buf_add(b, "\\n", 2);
    } else if (c == '\r') {
      buf_add(b, "\\r", 2);
    } else if (c == '\t') {
      buf_add(b, "\\t", 2);
    } else if (c < 0x20) {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      buf_add(b, esc, 6);
    } else if (c < 0x80) {
      buf_char(b, (char)c);
    } else {
      len = utf8_len(u + i, n - i);
      if (len == 0) {
        buf_add(b, "\\ufffd", 6);
        i++;
        continue;
      }
      buf_add(b, s + i, len);
      i += len;
      continue;
    }
    i++;
  }
  buf_char(b, '"');
}

static void buf_json_cstr(Buf *b, const char *s) { buf_json_str(b, s, strlen(s)); }

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

/* Appends `s` as markdown text: trimmed, ASCII punctuation backslash-escaped
 * (CommonMark allows that for every ASCII punctuation character), control
 * characters (line breaks, tabs) as spaces. */
static void buf_md_text(Buf *b, const char *s) {
  static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  const char *end = s + strlen(s);
  while (s < end && is_space(*s)) s++;
  while (end > s && is_space(end[-1])) end--;
  for (; s < end; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c == 0x7f) {
      buf_char(b, ' ');
      continue;
    }
    if (strchr(punct, *s) != NULL) buf_char(b, '\\');
    buf_char(b, *s);
  }
}

/* The C locale writes a decimal point; another locale (set by a host
 * application) might write a comma. JSON and markdown want a point. */
static void fix_decimal_point(char *s) {
  for (; *s; s++)
    if (*s == ',') *s = '.';
}

/* Appends a finite number as the shortest %g form that reads back exactly, or
 * `null` when it is not finite. */
static void buf_number(Buf *b, double v) {
  char tmp[40];
  int prec;
  if (v != v || v > DBL_MAX || v < -DBL_MAX) {
    buf_puts(b, "null");
    return;
  }
  if (v == 0) v = 0; /* no "-0" */
  for (prec = 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (strtod(tmp, NULL) == v) break;
  }
  fix_decimal_point(tmp);
  buf_puts(b, tmp);
}

static void buf_count(Buf *b, int64_t n) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%lld", (long long)n);
  buf_puts(b, tmp);
}

/* Appends `v` with `decimals` decimals, for prose, never a negative zero ("-0.0"
 * when a small negative value rounds to zero), as the site prints table cells. */
static void buf_fixed(Buf *b, double v, int decimals) {
  char tmp[400];
  const char *s = tmp;
  snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
  fix_decimal_point(tmp);
  if (tmp[0] == '-' && strspn(tmp + 1, "0.") == strlen(tmp + 1)) s = tmp + 1;
  buf_puts(b, s);
}

/* Appends v as a change is printed (the table's signed column): with `decimals`
 * decimals, "+" before a positive value that does not round to zero, never "-0". */
static void buf_signed(Buf *b, double v, int decimals) {
  char tmp[400];
  snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
  if (v > 0 && strpbrk(tmp, "123456789") != NULL) buf_char(b, '+');
  buf_fixed(b, v, decimals);
}

/* ------------------------------------------------------------------------- */
/* The request: the study's decimals                                          */
/* ------------------------------------------------------------------------- */

/* How many decimals the figures get (the study's `settings.decimals`): the box
 * columns are percentages of shares (`share`), the net score a difference in
 * points (`change`). */
typedef struct {
  int share;
  int change;
} Decimals;

/* The most decimals taken from a request (csi itself allows 0–4). */
#define MAX_DECIMALS 9

/* A cursor over JSON text of known length (not NUL-terminated). */
typedef struct {
  const char *p, *end;
} Json;

static void json_ws(Json *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

/* Reads the string at the cursor (its opening quote): sets *start / *len to its
 * raw contents, escapes not decoded. Returns 0 if it is not a complete string. */
static int json_string(Json *j, const char **start, size_t *len) {
  const char *s;
  if (j->p >= j->end || *j->p != '"') return 0;
  s = ++j->p;
  while (j->p < j->end && *j->p != '"') {
    if (*j->p == '\\' && ++j->p >= j->end) return 0;
    j->p++;
  }
  if (j->p >= j->end) return 0;
  if (start != NULL) *start = s;
  if (len != NULL) *len = (size_t)(j->p - s);
  j->p++;
  return 1;
}

/* Skips the value at the cursor, objects and arrays nested at most `depth` deep.
 * Returns 0 if it is malformed. */
static int json_skip(Json *j, int depth) {
  json_ws(j);
  if (j->p >= j->end) return 0;
  if (*j->p == '"') return json_string(j, NULL, NULL);
  if (*j->p == '{' || *j->p == '[') {
    char close = *j->p == '{' ? '}' : ']';
    if (depth <= 0) return 0;
    j->p++;
    json_ws(j);
    if (j->p < j->end && *j->p == close) {
      j->p++;
      return 1;
    }
    for (;;) {
      if (close == '}') {
        json_ws(j);
        if (!json_string(j, NULL, NULL)) return 0;
        json_ws(j);
        if (j->p >= j->end || *j->p != ':') return 0;
        j->p++;
      }
      if (!json_skip(j, depth - 1)) return 0;
      json_ws(j);
      if (j->p >= j->end) return 0;
      if (*j->p == close) {
        j->p++;
        return 1;
      }
      if (*j->p != ',') return 0;
      j->p++;
    }
  }
  { /* a number, true, false or null: up to the next delimiter */
    const char *s = j->p;
    while (j->p < j->end && strchr(" \t\n\r,:]}", *j->p) == NULL) j->p++;
    return j->p > s;
  }
}

/* With the cursor at an object, moves it to the value of its member `key` and
 * returns 1; returns 0 when there is no such member or the object is malformed. */
static int json_member(Json *j, const char *key) {
  size_t klen = strlen(key);
  json_ws(j);
  if (j->p >= j->end || *j->p != '{') return 0;
  j->p++;
  json_ws(j);
  if (j->p < j->end && *j->p == '}') return 0;
  for (;;) {
    const char *name;
    size_t len;
    json_ws(j);
    if (!json_string(j, &name, &len)) return 0;
    json_ws(j);
    if (j->p >= j->end || *j->p != ':') return 0;
    j->p++;
    json_ws(j);
    if (len == klen && memcmp(name, key, klen) == 0) return 1;
    if (!json_skip(j, 64)) return 0;
    json_ws(j);
    if (j->p >= j->end || *j->p != ',') return 0;
    j->p++;
  }
}

/* The whole number 0–MAX_DECIMALS at the cursor, or -1 (another number, another
 * type). */
static int json_decimals(Json *j) {
  int v = 0, digits = 0;
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
    if (++digits > 2) return -1;
    v = v * 10 + (*j->p++ - '0');
  }
  if (digits == 0 || (j->p < j->end && strchr(".eE", *j->p) != NULL)) return -1;
  return v <= MAX_DECIMALS ? v : -1;
}

/* The study's decimals from the request: `study.decimals.share` and `.change`,
 * each 1 when absent (a host before blocks 1.1), malformed or out of range. */
static Decimals read_decimals(const uint8_t *request, size_t request_len) {
  Decimals d = {1, 1};
  const char *keys[2] = {"share", "change"};
  int *slots[2];
  int k;
  slots[0] = &d.share;
  slots[1] = &d.change;
  if (request == NULL) return d;
  for (k = 0; k < 2; k++) {
    Json j;
    j.p = (const char *)request;
    j.end = j.p + request_len;
    if (json_member(&j, "study") && json_member(&j, "decimals") && json_member(&j, keys[k])) {
      int v = json_decimals(&j);
      if (v >= 0) *slots[k] = v;
    }
  }
  return d;
}

/* ------------------------------------------------------------------------- */
/* Arrow metadata                                                             */
/* ------------------------------------------------------------------------- */

static int32_t read_i32(const char *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* Finds `key` in Arrow C-interface metadata (int32 count, then per pair int32
 * key length, key bytes, int32 value length, value bytes; native endianness).
 * Returns 1 and sets *value / *len when found, 0 when absent or malformed. */
static int meta_find(const char *meta, const char *key, const char **value, size_t *len) {
  int32_t count, i;
  size_t klen = strlen(key);
  if (meta == NULL) return 0;
  count = read_i32(meta);
  meta += 4;
  for (i = 0; i < count; i++) {
    int32_t kl = read_i32(meta), vl;
    if (kl < 0) return 0;
    meta += 4;
    vl = read_i32(meta + kl);
    if (vl < 0) return 0;
    if ((size_t)kl == klen && memcmp(meta, key, klen) == 0) {
      *value = meta + kl + 4;
      *len = (size_t)vl;
      return 1;
    }
    meta += kl + 4 + vl;
  }
  return 0;
}

/* Whether metadata `key` is present and equal to `expected`. */
static int meta_is(const char *meta, const char *key, const char *expected) {
  const char *v;
  size_t n;
  return meta_find(meta, key, &v, &n) && n == strlen(expected) && memcmp(v, expected, n) == 0;
}

/* A NUL-terminated malloc'd copy of metadata `key`, "" when absent; NULL only
 * when memory ran out. */
static char *meta_dup(const char *meta, const char *key) {
  const char *v = "";
  size_t n = 0;
  char *copy;
  meta_find(meta, key, &v, &n);
  copy = malloc(n + 1);
  if (copy == NULL) return NULL;
  memcpy(copy, v, n);
  copy[n] = '\0';
  return copy;
}

/* Parses a decimal number written by csi ("1", "10", "0.5", "-2", "1e3")
 * without depending on the C library's locale. Returns 1 on success. */
static int parse_decimal(const char *s, size_t n, double *out) {
  size_t i = 0;
  int neg = 0, digits = 0, exp_neg = 0;
  long exp10 = 0, e = 0;
  double v = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) v = v * 10 + (s[i] - '0');
  if (i < n && s[i] == '.') {
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
      v = v * 10 + (s[i] - '0');
      exp10--;
    }
  }
  if (digits == 0) return 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    int edigits = 0;
    i++;
    if (i < n && (s[i] == '-' || s[i] == '+')) exp_neg = s[i++] == '-';
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, edigits++)
      if (e < 10000) e = e * 10 + (s[i] - '0');
    if (edigits == 0) return 0;
    exp10 += exp_neg ? -e : e;
  }
  if (i != n) return 0;
  /* 10^k is exact up to k = 22, so one multiplication or division rounds once. */
  while (exp10 != 0) {
    long k = exp10 > 0 ? exp10 : -exp10;
    double p = 1;
    if (k > 22) k = 22;
    while (k-- > 0) p *= 10;
    if (exp10 > 0) {
      v *= p;
      exp10 -= exp10 > 22 ? 22 : exp10;
    } else {
      v /= p;
      exp10 += -exp10 > 22 ? 22 : -exp10;
    }
  }
  if (v != v || v > DBL_MAX) return 0;
  *out = neg ? -v : v;
  return 1;
}

static int meta_number(const char *meta, const char *key, double *out) {
  const char *v;
  size_t n;
  return meta_find(meta, key, &v, &n) && parse_decimal(v, n, out);
}

/* ------------------------------------------------------------------------- */
/* The analysis                                                               */
/* ------------------------------------------------------------------------- */

typedef struct {
  int64_t column;   /* child index in the rows schema */
  char *label;      /* csi.label (or the column name) */
  double min, max;  /* scale bounds */
  int lower_better; /* csi.direction = lower_is_better */
  int assumed;      /* no csi.top: the scale sets no top box, two points are used */
  double top_from;  /* the top box: answers at or above it (at or below it if lower is better) */
  double top_k;     /* points in the top box */
  double bottom_from; /* the bottom box: answers at or below it (at or above it if lower is better) */
  double bottom_k;  /* points in the bottom box */
  int64_t n;        /* respondents counted (unweighted) */
  double sum_w;     /* their total weight */
  double sum_top;   /* weight answering in the top box */
  double sum_bottom; /* weight answering in the bottom box */
  double top;       /* share in the top box */
  double bottom;    /* share in the bottom box */
  double net;       /* (top - bottom) * 100 */
} Indicator;

typedef struct {
  char message[512];
  Indicator *items;
  size_t count;
  int64_t weight; /* weight column, or -1 */
  int64_t columns;
  double *row_weight;     /* per row of the batch being added: its weight, 0 if it does not count */
  int64_t row_weight_cap; /* rows row_weight has room for */
} State;

static void state_free(State *st) {
  size_t i;
  for (i = 0; i < st->count; i++) free(st->items[i].label);
  free(st->items);
  st->items = NULL;
  st->count = 0;
  free(st->row_weight);
  st->row_weight = NULL;
  st->row_weight_cap = 0;
}

static const char *field_name(const struct ArrowSchema *f) { return f->name ? f->name : "?"; }

/* The top box from `csi.top` (the study's), else the scale's two best points; the
 * bottom box as wide at the other end, narrowed so the two never overlap. */
static void set_boxes(Indicator *ind, const char *meta) {
  double points = ind->max - ind->min + 1, top, k;
  int have = meta_number(meta, "csi.top", &top) && top >= ind->min && top <= ind->max;
  k = have ? (ind->lower_better ? top - ind->min + 1 : ind->max - top + 1) : 2;
  if (!(k >= 1 && k < points)) { /* not a usable top box */
    have = 0;
    k = 2;
  }
  ind->assumed = !have;
  ind->top_k = k;
  ind->top_from = ind->lower_better ? ind->min + (k - 1) : ind->max - (k - 1);
  ind->bottom_k = (2 * k <= points || points <= k) ? k : points - k;
  ind->bottom_from = ind->lower_better ? ind->max - (ind->bottom_k - 1) : ind->min + (ind->bottom_k - 1);
}

/* Reads the fields' metadata: the answer columns on a scale and the weight. Fills
 * st->message and returns 0 on error. */
static int read_schema(const struct ArrowSchema *schema, State *st) {
  int64_t i;
  if (schema->format == NULL || strcmp(schema->format, "+s") != 0 || schema->n_children < 0 ||
      (schema->n_children > 0 && schema->children == NULL)) {
    snprintf(st->message, sizeof st->message, "netscore: the rows schema is not a struct of columns (format `%s`)",
             schema->format ? schema->format : "(null)");
    return 0;
  }
  st->columns = schema->n_children;
  st->weight = -1;
  st->items = calloc((size_t)(schema->n_children ? schema->n_children : 1), sizeof(Indicator));
  if (st->items == NULL) {
    snprintf(st->message, sizeof st->message, "%s", OUT_OF_MEMORY);
    return 0;
  }
  for (i = 0; i < schema->n_children; i++) {
    const struct ArrowSchema *f = schema->children[i];
    const char *meta;
    Indicator *ind;
    if (f == NULL || f->format == NULL) {
      snprintf(st->message, sizeof st->message, "netscore: rows schema field %lld is missing", (long long)i);
      return 0;
    }
    meta = f->metadata;
    if (meta_is(meta, "csi.role", "weight")) {
      if (strcmp(f->format, "g") != 0) {
        snprintf(st->message, sizeof st->message,
                 "netscore: weight column `%.200s` has Arrow format `%.20s`, expected float64 (`g`)", field_name(f),
                 f->format);
        return 0;
      }
      if (st->weight < 0) st->weight = i;
      continue;
    }
    if (!meta_is(meta, "csi.role", "answer")) continue;
    /* Overall-satisfaction items are outcomes, not indicators to rank. */
    if (meta_is(meta, "csi.kind", "overall")) continue;
    {
      const char *unit;
      size_t unit_len;
      if (meta_find(meta, "csi.unit", &unit, &unit_len)) continue; /* not a scale */
    }
    if (strcmp(f->format, "g") != 0) {
      snprintf(st->message, sizeof st->message,
               "netscore: answer column `%.200s` has Arrow format `%.20s`, expected float64 (`g`)", field_name(f),
               f->format);
      return 0;
    }
    ind = &st->items[st->count];
    if (!meta_number(meta, "csi.min", &ind->min) || !meta_number(meta, "csi.max", &ind->max) ||
        !(ind->max > ind->min)) {
      snprintf(st->message, sizeof st->message,
               "netscore: answer column `%.200s` lacks a scale: `csi.min` and `csi.max` must be numbers with min < max",
               field_name(f));
      return 0;
    }
    ind->column = i;
    ind->lower_better = meta_is(meta, "csi.direction", "lower_is_better");
    set_boxes(ind, meta);
    ind->label = meta_dup(meta, "csi.label");
    if (ind->label != NULL && ind->label[0] == '\0') {
      /* No label: fall back on the indicator id, then the column name. */
      free(ind->label);
      ind->label = meta_dup(meta, "csi.node");
      if (ind->label != NULL && ind->label[0] == '\0') {
        size_t n = strlen(field_name(f));
        free(ind->label);
        ind->label = malloc(n + 1);
        if (ind->label != NULL) memcpy(ind->label, field_name(f), n + 1);
      }
    }
    if (ind->label == NULL) {
      snprintf(st->message, sizeof st->message, "%s", OUT_OF_MEMORY);
      return 0;
    }
    st->count++;
  }
  if (st->count == 0) {
    snprintf(st->message, sizeof st->message,
             "netscore: the rows have no answer columns on a scale (fields with `csi.role` = `answer` and no "
             "`csi.unit`); nothing to analyse");
    return 0;
  }
  return 1;
}

static int bit_set(const void *bitmap, int64_t i) {
  return bitmap == NULL || ((((const uint8_t *)bitmap)[i >> 3] >> (i & 7)) & 1);
}

/* Checks that child `col` of `batch` is a readable float64 array covering the
 * batch's rows. */
static int check_child(const struct ArrowArray *batch, int64_t col, const char *what, State *st) {
  const struct ArrowArray *c = batch->children[col];
  if (c == NULL || c->n_buffers < 2 || c->buffers == NULL || c->offset < 0 || c->length < 0 ||
      c->length < batch->offset + batch->length || (c->length > 0 && c->buffers[1] == NULL)) {
    snprintf(st->message, sizeof st->message, "netscore: malformed %s array in column %lld of a rows batch", what,
             (long long)col);
    return 0;
  }
  return 1;
}

/* Adds one batch (a struct array of the columns) to the counts. */
static int accumulate(const struct ArrowArray *batch, State *st) {
  const void *batch_valid = NULL;
  const struct ArrowArray *wa = NULL;
  const double *wv = NULL;
  const void *wvalid = NULL;
  int64_t base_w = 0, i;
  double *rw;
  size_t k;
  if (batch->n_children != st->columns || batch->length < 0 || batch->offset < 0 ||
      (batch->n_children > 0 && batch->children == NULL)) {
    snprintf(st->message, sizeof st->message,
             "netscore: a rows batch has %lld columns, the schema %lld (or is malformed)",
             (long long)batch->n_children, (long long)st->columns);
    return 0;
  }
  if (batch->length == 0) return 1;
  if (batch->n_buffers >= 1 && batch->buffers != NULL) batch_valid = batch->buffers[0];
  if (st->weight >= 0) {
    if (!check_child(batch, st->weight, "weight", st)) return 0;
    wa = batch->children[st->weight];
    wv = (const double *)wa->buffers[1];
    wvalid = wa->buffers[0];
    base_w = wa->offset + batch->offset;
  }
  /* Each row's weight, once for every indicator: 0 for a row that does not count
   * (not valid, or its weight null, zero, negative, NaN or infinite). */
  if (st->row_weight_cap < batch->length) {
    double *grown = realloc(st->row_weight, (size_t)batch->length * sizeof *grown);
    if (grown == NULL) {
      snprintf(st->message, sizeof st->message, "netscore: out of memory for a rows batch of %lld rows",
               (long long)batch->length);
      return 0;
    }
    st->row_weight = grown;
    st->row_weight_cap = batch->length;
  }
  rw = st->row_weight;
  for (i = 0; i < batch->length; i++) {
    double w = 1;
    if (!bit_set(batch_valid, batch->offset + i)) {
      w = 0;
    } else if (wa != NULL) {
      w = bit_set(wvalid, base_w + i) ? wv[base_w + i] : 0;
      if (!(w > 0 && w <= DBL_MAX)) w = 0;
    }
    rw[i] = w;
  }
  for (k = 0; k < st->count; k++) {
    Indicator *ind = &st->items[k];
    const struct ArrowArray *a;
    const double *v;
    const void *valid;
    int64_t base, n = ind->n;
    double sum_w = ind->sum_w, sum_top = ind->sum_top, sum_bottom = ind->sum_bottom;
    double top = ind->top_from, bottom = ind->bottom_from;
    int lower = ind->lower_better;
    if (!check_child(batch, ind->column, "answer", st)) return 0;
    a = batch->children[ind->column];
    v = (const double *)a->buffers[1];
    valid = a->buffers[0];
    base = a->offset + batch->offset;
    /* The sums in row order, carried on from the batches before (so they do not
     * depend on where batches end); the top and bottom boxes added without a
     * branch. */
    for (i = 0; i < batch->length; i++) {
      double w = rw[i], x;
      int in_top, in_bottom;
      if (w == 0 || !bit_set(valid, base + i)) continue;
      x = v[base + i];
      if (x != x) continue;
      in_top = lower ? x <= top : x >= top;
      in_bottom = lower ? x >= bottom : x <= bottom;
      n++;
      sum_w += w;
      sum_top += in_top ? w : 0.0;
      sum_bottom += in_bottom ? w : 0.0;
    }
    ind->n = n;
    ind->sum_w = sum_w;
    ind->sum_top = sum_top;
    ind->sum_bottom = sum_bottom;
  }
  return 1;
}

static int by_net(const void *pa, const void *pb) {
  const Indicator *a = pa, *b = pb;
  int c;
  if (a->net < b->net) return -1;
  if (a->net > b->net) return 1;
  c = strcmp(a->label, b->label);
  if (c != 0) return c;
  return (a->column > b->column) - (a->column < b->column);
}

typedef struct {
  int zh;
  const char *title, *headline, *headline_note, *table_title, *col_indicator, *col_n, *col_top, *col_bottom,
      *col_net, *table_note, *table_note_end, *chart_title, *series, *finding_one, *finding_many, *list_sep,
      *list_and, *finding_end, *open, *close, *def_sep, *def_end;
} Texts;

static const Texts ENGLISH = {
    0,
    "Net satisfaction",
    "Average net satisfaction",
    "Simple mean of the net scores of %s indicators",
    "Net satisfaction by indicator, weakest first",
    "Indicator",
    "n",
    "% top box",
    "% bottom box",
    "Net score",
    "Net satisfaction is a net score, not a top-box share: the weighted share of answers in the study's top box "
    "minus the share in a bottom box as wide at the other end of the scale, in points (−100 to 100). ",
    " n is the unweighted number of answers.",
    "Net satisfaction by indicator",
    "Net score",
    "The weakest indicator by net satisfaction is ",
    "The weakest indicators by net satisfaction are ",
    ", ",
    " and ",
    ".",
    " (",
    ")",
    "; ",
    ".",
};

static const Texts CHINESE = {
    1,
    "净满意度",
    "平均净满意度",
    "%s 项指标净满意度的简单平均",
    "各指标净满意度（由低到高）",
    "指标",
    "n", /* as every other page heads a base */
    "高分段比例",
    "低分段比例",
    "净满意度",
    "净满意度是净分，不是高分段比例：研究设定的高分段回答占比（加权）减去量表另一端同样宽度的低分段回答占比，"
    "单位为百分点（−100 至 100）。",
    "n 为未加权的回答数。",
    "各指标净满意度",
    "净满意度",
    "净满意度最低的指标：",
    "净满意度最低的指标：",
    "、",
    "、", /* not 和: after a letter, `**` before a label starting with punctuation would not open bold */
    "。",
    "（",
    "）",
    "；",
    "。",
};

/* Appends the raw values `from` … `to` of a box: "9–10", or "10" for one point. */
static void buf_range(Buf *b, double from, double to) {
  double lo = from < to ? from : to, hi = from < to ? to : from;
  buf_number(b, lo);
  if (hi != lo) {
    buf_puts(b, "–");
    buf_number(b, hi);
  }
}

/* Appends a count of points ("2"). */
static void buf_points(Buf *b, double k) { buf_count(b, (int64_t)k); }

/* Appends the definition of an indicator's top and bottom boxes:
 * "top box = the top 2 points of the 1–10 scale (9–10), bottom box = the bottom 2 (1–2)". */
static void buf_definition(Buf *b, const Indicator *ind, const Texts *t) {
  /* The raw ends of each box. */
  double top_end = ind->lower_better ? ind->min : ind->max, bottom_end = ind->lower_better ? ind->max : ind->min;
  const char *best = ind->lower_better ? (t->zh ? "最低" : "bottom") : (t->zh ? "最高" : "top");
  const char *worst = ind->lower_better ? (t->zh ? "最高" : "top") : (t->zh ? "最低" : "bottom");
  if (t->zh) {
    if (ind->assumed) {
      buf_number(b, ind->min);
      buf_puts(b, "–");
      buf_number(b, ind->max);
      buf_puts(b, " 量表未设高分段，按");
      buf_puts(b, best);
      buf_char(b, ' ');
      buf_points(b, ind->top_k);
      buf_puts(b, " 档（");
      buf_range(b, ind->top_from, top_end);
      buf_puts(b, "）与");
      buf_puts(b, worst);
      buf_char(b, ' ');
      buf_points(b, ind->bottom_k);
      buf_puts(b, " 档（");
      buf_range(b, ind->bottom_from, bottom_end);
      buf_puts(b, "）计");
    } else {
      buf_puts(b, "高分段 = ");
      buf_number(b, ind->min);
      buf_puts(b, "–");
      buf_number(b, ind->max);
      buf_puts(b, " 量表的");
      buf_puts(b, best);
      buf_char(b, ' ');
      buf_points(b, ind->top_k);
      buf_puts(b, " 档（");
      buf_range(b, ind->top_from, top_end);
      if (ind->lower_better) buf_puts(b, "，越低越好");
      buf_puts(b, "），低分段 = ");
      buf_puts(b, worst);
      buf_char(b, ' ');
      buf_points(b, ind->bottom_k);
      buf_puts(b, " 档（");
      buf_range(b, ind->bottom_from, bottom_end);
      buf_puts(b, "）");
    }
    return;
  }
  if (ind->assumed) {
    buf_puts(b, "the ");
    buf_number(b, ind->min);
    buf_puts(b, "–");
    buf_number(b, ind->max);
    buf_puts(b, " scale sets no top box: its ");
  } else {
    buf_puts(b, "top box = the ");
  }
  buf_puts(b, best);
  buf_char(b, ' ');
  buf_points(b, ind->top_k);
  buf_puts(b, ind->top_k == 1 ? " point" : " points");
  if (!ind->assumed) {
    buf_puts(b, " of the ");
    buf_number(b, ind->min);
    buf_puts(b, "–");
    buf_number(b, ind->max);
    buf_puts(b, " scale");
  }
  buf_puts(b, " (");
  buf_range(b, ind->top_from, top_end);
  if (ind->lower_better) buf_puts(b, "; lower is better");
  buf_puts(b, ind->assumed ? ") and its " : "), bottom box = the ");
  buf_puts(b, worst);
  buf_char(b, ' ');
  buf_points(b, ind->bottom_k);
  buf_puts(b, " (");
  buf_range(b, ind->bottom_from, bottom_end);
  buf_puts(b, ind->assumed ? ") are used" : ")");
}

/* Appends the distinct definitions of the indicators' boxes, each once, joined by
 * t->def_sep and ended by t->def_end; the first letter upper-cased in English. */
static void buf_definitions(Buf *b, const Indicator *inds, size_t count, const Texts *t) {
  size_t i, j, start = b->len, kept = 0;
  Buf *seen = calloc(count ? count : 1, sizeof(Buf));
  if (seen == NULL) {
    b->failed = 1;
    return;
  }
  for (i = 0; i < count; i++) {
    int dup = 0;
    buf_definition(&seen[i], &inds[i], t);
    if (seen[i].failed) b->failed = 1;
    for (j = 0; j < i && !dup; j++)
      dup = seen[j].p != NULL && seen[i].p != NULL && strcmp(seen[j].p, seen[i].p) == 0;
    if (dup || seen[i].p == NULL) continue;
    if (kept++) buf_puts(b, t->def_sep);
    buf_add(b, seen[i].p, seen[i].len);
  }
  if (kept) buf_puts(b, t->def_end);
  if (!t->zh && b->len > start && b->p[start] >= 'a' && b->p[start] <= 'z') b->p[start] = (char)(b->p[start] - 'a' + 'A');
  for (i = 0; i < count; i++) buf_free(&seen[i]);
  free(seen);
}

/* Writes the report JSON for the indicators (sorted, n > 0), with decimals `d`. */
static void write_report(Buf *b, const Indicator *inds, size_t count, const Texts *t, Decimals d) {
  size_t i, weakest;
  double sum = 0;
  char count_text[32];
  Buf tmp = {0};
  for (i = 0; i < count; i++) sum += inds[i].net;
  snprintf(count_text, sizeof count_text, "%lu", (unsigned long)count);

  buf_puts(b, "{\"title\":");
  buf_json_cstr(b, t->title);
  buf_puts(b, ",\"blocks\":[");

  /* Headline: the simple mean of the net scores. */
  buf_puts(b, "{\"type\":\"headline\",\"label\":");
  buf_json_cstr(b, t->headline);
  buf_puts(b, ",\"value\":");
  buf_number(b, sum / (double)count);
  buf_puts(b, ",\"decimals\":");
  buf_count(b, d.change);
  /* A net score carries its sign, as in the table (blocks 1.3). */
  buf_puts(b, ",\"signed\":true,\"note\":");
  {
    const char *pct = strstr(t->headline_note, "%s");
    buf_add(&tmp, t->headline_note, (size_t)(pct - t->headline_note));
    buf_puts(&tmp, count_text);
    buf_puts(&tmp, pct + 2);
  }
  buf_json_str(b, tmp.p ? tmp.p : "", tmp.len);
  tmp.len = 0;
  buf_puts(b, "},");

  /* Table, weakest first. */
  buf_puts(b, "{\"type\":\"table\",\"title\":");
  buf_json_cstr(b, t->table_title);
  buf_puts(b, ",\"columns\":[{\"label\":");
  buf_json_cstr(b, t->col_indicator);
  buf_puts(b, ",\"kind\":\"text\",\"decimals\":0},{\"label\":");
  buf_json_cstr(b, t->col_n);
  buf_puts(b, ",\"kind\":\"count\",\"decimals\":0},{\"label\":");
  buf_json_cstr(b, t->col_top);
  buf_puts(b, ",\"kind\":\"percent\",\"decimals\":");
  buf_count(b, d.share);
  buf_puts(b, "},{\"label\":");
  buf_json_cstr(b, t->col_bottom);
  buf_puts(b, ",\"kind\":\"percent\",\"decimals\":");
  buf_count(b, d.share);
  buf_puts(b, "},{\"label\":");
  buf_json_cstr(b, t->col_net);
  /* A difference: the page prints its sign. */
  buf_puts(b, ",\"kind\":\"number\",\"decimals\":");
  buf_count(b, d.change);
  buf_puts(b, ",\"signed\":true}],\"rows\":[");
  for (i = 0; i < count; i++) {
    if (i) buf_char(b, ',');
    buf_puts(b, "{\"cells\":[");
    buf_json_cstr(b, inds[i].label);
    buf_char(b, ',');
    buf_count(b, inds[i].n);
    buf_char(b, ',');
    buf_number(b, inds[i].top);
    buf_char(b, ',');
    buf_number(b, inds[i].bottom);
    buf_char(b, ',');
    buf_number(b, inds[i].net);
    buf_puts(b, "]}");
  }
  buf_puts(b, "],\"note\":");
  buf_puts(&tmp, t->table_note);
  buf_definitions(&tmp, inds, count, t);
  buf_puts(&tmp, t->table_note_end);
  buf_json_str(b, tmp.p ? tmp.p : "", tmp.len);
  tmp.len = 0;
  buf_puts(b, "},");

  /* Diverging bars of the net scores, in the table's order. */
  buf_puts(b, "{\"type\":\"chart\",\"title\":");
  buf_json_cstr(b, t->chart_title);
  buf_puts(b, ",\"kind\":\"diverging_bar\",\"categories\":[");
  for (i = 0; i < count; i++) {
    if (i) buf_char(b, ',');
    buf_json_cstr(b, inds[i].label);
  }
  buf_puts(b, "],\"series\":[{\"name\":");
  buf_json_cstr(b, t->series);
  buf_puts(b, ",\"values\":[");
  for (i = 0; i < count; i++) {
    if (i) buf_char(b, ',');
    buf_number(b, inds[i].net);
  }
  buf_puts(b, "]}]},");

  /* The finding: the weakest three. */
  weakest = count < 3 ? count : 3;
  buf_puts(&tmp, weakest == 1 ? t->finding_one : t->finding_many);
  for (i = 0; i < weakest; i++) {
    if (i > 0) buf_puts(&tmp, i + 1 == weakest ? t->list_and : t->list_sep);
    buf_puts(&tmp, "**");
    buf_md_text(&tmp, inds[i].label);
    buf_puts(&tmp, "**");
    buf_puts(&tmp, t->open);
    buf_signed(&tmp, inds[i].net, d.change); /* signed, as the table shows it */
    buf_puts(&tmp, t->close);
  }
  buf_puts(&tmp, t->finding_end);
  buf_puts(b, "{\"type\":\"markdown\",\"text\":");
  buf_json_str(b, tmp.p ? tmp.p : "", tmp.len);
  buf_puts(b, "}]}");
  if (tmp.failed) b->failed = 1;
  buf_free(&tmp);
}

static int is_chinese(const char *lang) {
  return strncmp(lang, "zh", 2) == 0 && (lang[2] == '\0' || lang[2] == '-' || lang[2] == '_');
}

static int32_t netscore_describe(CsiBytes *out) {
  static const char json[] = "{\"protocol\":1,\"inputs\":\"rows\",\"options\":{}}";
  char *copy;
  if (out == NULL) return CSI_STATUS_ERROR;
  copy = malloc(sizeof json);
  if (copy == NULL) {
    give_static(out, OUT_OF_MEMORY);
    return CSI_STATUS_ERROR;
  }
  memcpy(copy, json, sizeof json);
  give_owned(out, copy, sizeof json - 1);
  return CSI_STATUS_OK;
}

static void release_stream(struct ArrowArrayStream *s) {
  if (s != NULL && s->release != NULL) s->release(s);
}

static int32_t netscore_run(const uint8_t *request, size_t request_len, struct ArrowArrayStream *statistics,
                            struct ArrowArrayStream *rows, CsiBytes *out) {
  State st;
  struct ArrowSchema schema;
  char *language = NULL;
  Buf json = {0};
  size_t i, kept;
  int ok = 0;

  memset(&st, 0, sizeof st);
  memset(&schema, 0, sizeof schema);
  release_stream(statistics); /* not asked for; released if given anyway */
  if (out == NULL) {
    release_stream(rows);
    return CSI_STATUS_ERROR;
  }
  if (rows == NULL || rows->release == NULL) {
    return fail(out, "netscore: no respondent rows were passed (the plugin declares \"inputs\": \"rows\")");
  }

  if (rows->get_schema(rows, &schema) != 0) {
    const char *e = rows->get_last_error ? rows->get_last_error(rows) : NULL;
    snprintf(st.message, sizeof st.message, "netscore: cannot read the rows schema: %.400s",
             e ? e : "unknown error");
    schema.release = NULL; /* not filled on error */
    goto done;
  }
  if (!read_schema(&schema, &st)) goto done;
  language = meta_dup(schema.metadata, "csi.language");
  if (language == NULL) {
    snprintf(st.message, sizeof st.message, "%s", OUT_OF_MEMORY);
    goto done;
  }

  for (;;) {
    struct ArrowArray batch;
    int good;
    memset(&batch, 0, sizeof batch);
    if (rows->get_next(rows, &batch) != 0) {
      const char *e = rows->get_last_error ? rows->get_last_error(rows) : NULL;
      snprintf(st.message, sizeof st.message, "netscore: reading the respondent rows failed: %.400s",
               e ? e : "unknown error");
      goto done;
    }
    if (batch.release == NULL) break; /* end of stream */
    good = accumulate(&batch, &st);
    batch.release(&batch);
    if (!good) goto done;
  }

  /* Shares and net scores; indicators nobody answered are dropped. */
  for (i = 0; i < st.count; i++) {
    if (!(st.items[i].sum_w <= DBL_MAX)) {
      snprintf(st.message, sizeof st.message, "netscore: the weights of `%.200s` add up beyond the range of a double",
               st.items[i].label);
      goto done;
    }
  }
  kept = 0;
  for (i = 0; i < st.count; i++) {
    Indicator *ind = &st.items[i];
    if (ind->n == 0 || !(ind->sum_w > 0)) {
      free(ind->label);
      continue;
    }
    ind->top = ind->sum_top / ind->sum_w;
    ind->bottom = ind->sum_bottom / ind->sum_w;
    ind->net = (ind->top - ind->bottom) * 100;
    st.items[kept++] = *ind;
  }
  st.count = kept;
  if (st.count == 0) {
    snprintf(st.message, sizeof st.message, "netscore: no respondent with a usable weight answered any indicator");
    goto done;
  }
  qsort(st.items, st.count, sizeof(Indicator), by_net);
  write_report(&json, st.items, st.count, is_chinese(language) ? &CHINESE : &ENGLISH,
               read_decimals(request, request_len));
  if (json.failed) {
    snprintf(st.message, sizeof st.message, "%s", OUT_OF_MEMORY);
    goto done;
  }
  ok = 1;

done:
  if (schema.release != NULL) schema.release(&schema);
  release_stream(rows); /* exactly once, on every path */
  state_free(&st);
  free(language);
  if (!ok) {
    buf_free(&json);
    return fail(out, st.message);
  }
  give_owned(out, json.p, json.len);
  return CSI_STATUS_OK;
}

/* ------------------------------------------------------------------------- */
/* Descriptor and entry point                                                 */
/* ------------------------------------------------------------------------- */

static const CsiPluginV1 DESCRIPTOR = {
    (uint32_t)sizeof(CsiPluginV1),
    CSI_PLUGIN_ABI_MAJOR,
    CSI_PLUGIN_ABI_MINOR,
    0,
    CSI_NETSCORE_NAME,
    CSI_NETSCORE_VERSION,
    "Net satisfaction (a net score: % in the study's top box minus % in a bottom box as wide) of every indicator "
    "from respondent rows, weakest first",
    netscore_describe,
    netscore_run,
    "https://github.com/csi-reports/csi",
};

NETSCORE_EXPORT const CsiPluginV1 *NETSCORE_ENTRY(void);

NETSCORE_EXPORT const CsiPluginV1 *NETSCORE_ENTRY(void) { return &DESCRIPTOR; }
