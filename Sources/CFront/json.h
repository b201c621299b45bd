// JSON for the front's two messages: the request it writes, and the daemon's
// answers it reads (see HopsDirectRun's DirectRunMessages for the layout).
#ifndef HOPS_FRONT_JSON_H
#define HOPS_FRONT_JSON_H

#include <stddef.h>
#include <stdint.h>

/// A document being written. `failed` is set when memory ran out; the text
/// is then incomplete and must not be sent.
struct json_out {
  char *bytes;
  size_t length, capacity;
  int failed;
};

void json_raw(struct json_out *out, const char *text);
/// A JSON string of `text`, escaped as JSONText.quoted escapes; bytes that
/// are not UTF-8 become U+FFFD, as Swift's String makes them (one for each
/// maximal subpart).
void json_string(struct json_out *out, const char *text);
/// The same for `length` bytes, which may hold NUL.
void json_bytes(struct json_out *out, const char *bytes, size_t length);
void json_string_array(struct json_out *out, const char *const *texts, size_t count);
/// `"key":` after a `,` unless it is the object's first member.
void json_key(struct json_out *out, int *members, const char *key);
/// `"key":"text"`, left out when `text` is NULL (JSONText.object leaves out nil).
void json_text_member(struct json_out *out, int *members, const char *key, const char *text);

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

/// A value read: objects and arrays hold their members as a list.
struct json_value {
  enum json_type type;
  /// The member's name, in an object.
  char *key;
  /// A string's text, decoded; a number's text as written.
  char *text;
  int boolean;
  struct json_value *first, *next;
};

/// The document in `bytes`, or NULL if it is not one JSON value.
struct json_value *json_parse(const char *bytes, size_t length);
void json_free(struct json_value *value);
/// An object's member, or NULL.
const struct json_value *json_member(const struct json_value *object, const char *key);
/// A number member that is a whole number within the range; 0 when it is not.
int json_integer(const struct json_value *number, int64_t minimum, int64_t maximum, int64_t *result);

#endif
