// Writing and reading the little JSON the front exchanges with the daemon.
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

// MARK: - Writing

static void append(struct json_out *out, const char *bytes, size_t length) {
  if (out->failed) return;
  if (out->length + length + 1 > out->capacity) {
    size_t capacity = out->capacity ? out->capacity : 1024;
    while (capacity < out->length + length + 1) capacity *= 2;
    char *grown = realloc(out->bytes, capacity);
    if (!grown) {
      out->failed = 1;
      return;
    }
    out->bytes = grown;
    out->capacity = capacity;
  }
  memcpy(out->bytes + out->length, bytes, length);
  out->length += length;
  out->bytes[out->length] = 0;
}

void json_raw(struct json_out *out, const char *text) { append(out, text, strlen(text)); }

/// The length of the UTF-8 sequence at `s` (up to `end`), or 0 if it is not one.
static size_t utf8_sequence(const unsigned char *s, const unsigned char *end) {
  size_t length;
  unsigned int minimum, scalar;
  if (s[0] < 0x80) return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) length = 2, minimum = 0x80, scalar = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef) length = 3, minimum = 0x800, scalar = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4) length = 4, minimum = 0x10000, scalar = s[0] & 0x07;
  else return 0;
  if ((size_t)(end - s) < length) return 0;
  for (size_t i = 1; i < length; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    scalar = scalar << 6 | (s[i] & 0x3f);
  }
  if (scalar < minimum || scalar > 0x10ffff || (scalar >= 0xd800 && scalar <= 0xdfff)) return 0;
  return length;
}

/// How many bytes one U+FFFD stands for at `s`, which is not UTF-8: the
/// longest start of a valid sequence there (Unicode's "maximal subpart", as
/// Swift's String decodes), or the one byte.
static size_t invalid_subpart(const unsigned char *s, const unsigned char *end) {
  size_t length;
  unsigned char low = 0x80, high = 0xbf;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) length = 2;
  else if (s[0] >= 0xe0 && s[0] <= 0xef) length = 3, low = s[0] == 0xe0 ? 0xa0 : 0x80, high = s[0] == 0xed ? 0x9f : 0xbf;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4) length = 4, low = s[0] == 0xf0 ? 0x90 : 0x80, high = s[0] == 0xf4 ? 0x8f : 0xbf;
  else return 1;
  size_t taken = 1;
  if (s + 1 < end && s[1] >= low && s[1] <= high) {
    taken = 2;
    while (taken < length && s + taken < end && (s[taken] & 0xc0) == 0x80) taken++;
  }
  return taken;
}

void json_string(struct json_out *out, const char *text) { json_bytes(out, text, strlen(text)); }

void json_bytes(struct json_out *out, const char *bytes, size_t length) {
  const unsigned char *s = (const unsigned char *)bytes, *end = s + length;
  append(out, "\"", 1);
  while (s < end) {
    // A run of bytes that need no escape goes in one copy.
    const unsigned char *run = s;
    while (s < end && *s >= 0x20 && *s != '"' && *s != '\\' && *s < 0x7f) s++;
    append(out, (const char *)run, (size_t)(s - run));
    if (s == end) break;
    char escaped[8];
    switch (*s) {
    case '"': append(out, "\\\"", 2); s++; continue;
    case '\\': append(out, "\\\\", 2); s++; continue;
    case '\n': append(out, "\\n", 2); s++; continue;
    case '\r': append(out, "\\r", 2); s++; continue;
    case '\t': append(out, "\\t", 2); s++; continue;
    default: break;
    }
    if (*s < 0x20 || *s == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      memcpy(escaped, "\\u00", 4);
      escaped[4] = hex[*s >> 4];
      escaped[5] = hex[*s & 15];
      append(out, escaped, 6);
      s++;
      continue;
    }
    size_t sequence = utf8_sequence(s, end);
    if (sequence == 0) {
      append(out, "\xef\xbf\xbd", 3);  // U+FFFD
      s += invalid_subpart(s, end);
    } else {
      append(out, (const char *)s, sequence);
      s += sequence;
    }
  }
  append(out, "\"", 1);
}

void json_string_array(struct json_out *out, const char *const *texts, size_t count) {
  append(out, "[", 1);
  for (size_t i = 0; i < count; i++) {
    if (i > 0) append(out, ",", 1);
    json_string(out, texts[i]);
  }
  append(out, "]", 1);
}

void json_key(struct json_out *out, int *members, const char *key) {
  if ((*members)++ > 0) append(out, ",", 1);
  json_string(out, key);
  append(out, ":", 1);
}

void json_text_member(struct json_out *out, int *members, const char *key, const char *text) {
  if (!text) return;
  json_key(out, members, key);
  json_string(out, text);
}

// MARK: - Reading

struct reader {
  const char *at, *end;
  int depth;
};

static void skip_space(struct reader *r) {
  while (r->at < r->end && (*r->at == ' ' || *r->at == '\t' || *r->at == '\n' || *r->at == '\r')) r->at++;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int read_hex4(struct reader *r, unsigned int *value) {
  if (r->end - r->at < 4) return 0;
  *value = 0;
  for (int i = 0; i < 4; i++) {
    int digit = hex_digit(r->at[i]);
    if (digit < 0) return 0;
    *value = *value << 4 | (unsigned int)digit;
  }
  r->at += 4;
  return 1;
}

static void put_utf8(struct json_out *out, unsigned int scalar) {
  char bytes[4];
  size_t length;
  if (scalar < 0x80) bytes[0] = (char)scalar, length = 1;
  else if (scalar < 0x800) bytes[0] = (char)(0xc0 | scalar >> 6), bytes[1] = (char)(0x80 | (scalar & 0x3f)), length = 2;
  else if (scalar < 0x10000) {
    bytes[0] = (char)(0xe0 | scalar >> 12), bytes[1] = (char)(0x80 | (scalar >> 6 & 0x3f));
    bytes[2] = (char)(0x80 | (scalar & 0x3f)), length = 3;
  } else {
    bytes[0] = (char)(0xf0 | scalar >> 18), bytes[1] = (char)(0x80 | (scalar >> 12 & 0x3f));
    bytes[2] = (char)(0x80 | (scalar >> 6 & 0x3f)), bytes[3] = (char)(0x80 | (scalar & 0x3f)), length = 4;
  }
  append(out, bytes, length);
}

/// A string after its opening quote, decoded into a new C string (a \u0000
/// would cut it short: not one the daemon sends).
static char *read_string(struct reader *r) {
  struct json_out text = {0};
  append(&text, "", 0);
  while (r->at < r->end && *r->at != '"') {
    unsigned char c = (unsigned char)*r->at++;
    if (c < 0x20) goto malformed;
    if (c != '\\') {
      append(&text, (const char *)&c, 1);
      continue;
    }
    if (r->at >= r->end) goto malformed;
    char escape = *r->at++;
    unsigned int scalar;
    switch (escape) {
    case '"': case '\\': case '/': append(&text, &escape, 1); break;
    case 'b': append(&text, "\b", 1); break;
    case 'f': append(&text, "\f", 1); break;
    case 'n': append(&text, "\n", 1); break;
    case 'r': append(&text, "\r", 1); break;
    case 't': append(&text, "\t", 1); break;
    case 'u':
      if (!read_hex4(r, &scalar)) goto malformed;
      if (scalar >= 0xd800 && scalar <= 0xdbff) {
        unsigned int low;
        if (r->end - r->at >= 6 && r->at[0] == '\\' && r->at[1] == 'u') {
          r->at += 2;
          if (!read_hex4(r, &low)) goto malformed;
          scalar = low >= 0xdc00 && low <= 0xdfff ? 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00) : 0xfffd;
        } else {
          scalar = 0xfffd;
        }
      } else if (scalar >= 0xdc00 && scalar <= 0xdfff) {
        scalar = 0xfffd;
      }
      put_utf8(&text, scalar);
      break;
    default: goto malformed;
    }
  }
  if (r->at >= r->end || text.failed) goto malformed;
  r->at++;  // the closing quote
  return text.bytes;
malformed:
  free(text.bytes);
  return NULL;
}

static struct json_value *read_value(struct reader *r);

/// The elements of an array or the members of an object, after its bracket.
static int read_members(struct reader *r, struct json_value *container, char close, int named) {
  struct json_value **tail = &container->first;
  skip_space(r);
  if (r->at < r->end && *r->at == close) {
    r->at++;
    return 1;
  }
  while (1) {
    char *key = NULL;
    if (named) {
      skip_space(r);
      if (r->at >= r->end || *r->at != '"') return 0;
      r->at++;
      if (!(key = read_string(r))) return 0;
      skip_space(r);
      if (r->at >= r->end || *r->at != ':') {
        free(key);
        return 0;
      }
      r->at++;
    }
    struct json_value *member = read_value(r);
    if (!member) {
      free(key);
      return 0;
    }
    member->key = key;
    *tail = member;
    tail = &member->next;
    skip_space(r);
    if (r->at >= r->end) return 0;
    char c = *r->at++;
    if (c == close) return 1;
    if (c != ',') return 0;
  }
}

static int literal(struct reader *r, const char *word) {
  size_t length = strlen(word);
  if ((size_t)(r->end - r->at) < length || memcmp(r->at, word, length) != 0) return 0;
  r->at += length;
  return 1;
}

/// A number's text, checked against JSON's grammar.
static char *read_number(struct reader *r) {
  const char *start = r->at;
  if (r->at < r->end && *r->at == '-') r->at++;
  if (r->at >= r->end) return NULL;
  if (*r->at == '0') r->at++;
  else if (*r->at >= '1' && *r->at <= '9') while (r->at < r->end && *r->at >= '0' && *r->at <= '9') r->at++;
  else return NULL;
  if (r->at < r->end && *r->at == '.') {
    r->at++;
    if (r->at >= r->end || *r->at < '0' || *r->at > '9') return NULL;
    while (r->at < r->end && *r->at >= '0' && *r->at <= '9') r->at++;
  }
  if (r->at < r->end && (*r->at == 'e' || *r->at == 'E')) {
    r->at++;
    if (r->at < r->end && (*r->at == '+' || *r->at == '-')) r->at++;
    if (r->at >= r->end || *r->at < '0' || *r->at > '9') return NULL;
    while (r->at < r->end && *r->at >= '0' && *r->at <= '9') r->at++;
  }
  return strndup(start, (size_t)(r->at - start));
}

static struct json_value *read_value(struct reader *r) {
  skip_space(r);
  if (r->at >= r->end || r->depth > 32) return NULL;
  struct json_value *value = calloc(1, sizeof *value);
  if (!value) return NULL;
  char c = *r->at;
  int ok = 1;
  if (c == '{' || c == '[') {
    r->at++;
    r->depth++;
    value->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
    ok = read_members(r, value, c == '{' ? '}' : ']', c == '{');
    r->depth--;
  } else if (c == '"') {
    r->at++;
    value->type = JSON_STRING;
    ok = (value->text = read_string(r)) != NULL;
  } else if (literal(r, "true") || literal(r, "false")) {
    value->type = JSON_BOOL;
    value->boolean = c == 't';
  } else if (literal(r, "null")) {
    value->type = JSON_NULL;
  } else {
    value->type = JSON_NUMBER;
    ok = (value->text = read_number(r)) != NULL;
  }
  if (!ok) {
    json_free(value);
    return NULL;
  }
  return value;
}

struct json_value *json_parse(const char *bytes, size_t length) {
  struct reader r = {bytes, bytes + length, 0};
  struct json_value *value = read_value(&r);
  skip_space(&r);
  if (value && r.at != r.end) {
    json_free(value);
    return NULL;
  }
  return value;
}

void json_free(struct json_value *value) {
  while (value) {
    struct json_value *next = value->next;
    json_free(value->first);
    free(value->key);
    free(value->text);
    free(value);
    value = next;
  }
}

const struct json_value *json_member(const struct json_value *object, const char *key) {
  if (!object || object->type != JSON_OBJECT) return NULL;
  for (const struct json_value *member = object->first; member; member = member->next) {
    if (strcmp(member->key, key) == 0) return member;
  }
  return NULL;
}

int json_integer(const struct json_value *number, int64_t minimum, int64_t maximum, int64_t *result) {
  if (!number || number->type != JSON_NUMBER || strpbrk(number->text, ".eE")) return 0;
  errno = 0;
  char *end;
  long long value = strtoll(number->text, &end, 10);
  if (errno != 0 || *end != 0 || value < minimum || value > maximum) return 0;
  *result = value;
  return 1;
}
