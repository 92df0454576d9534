/* rt_auth.h - accounts and sessions of the agent inbox (docs/api.md,
 * "Accounts and sessions").
 *
 * Accounts and sessions live in memory behind one mutex (civetweb calls in
 * from several threads) and are mirrored to the store as small JSON
 * records, so a restart keeps every account and every open session:
 *   kind "user",    key = login name,  {"user","name","role","capacity","hash"}
 *   kind "session", key = SHA-256 hex of the token, {"user","csrf","created","last_used"}
 * The store never sees a password or a session token: passwords only as
 * argon2id hashes, tokens only as their SHA-256, so a copied database file
 * opens no account and no session.
 *
 * Nothing here reads the clock: callers pass `now` (Unix seconds), so tests
 * and flowd's test clock decide what time it is. The failed-login counters
 * are only in memory; a restart forgets them, which costs an attacker a
 * restart per 5 guesses.
 */
#ifndef RT_AUTH_H
#define RT_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_store.h"

/* A session ends after this long without a request (docs/api.md). */
#define RT_AUTH_IDLE_SECONDS (12 * 3600)
/* Failed logins allowed per account and per address within the window;
 * the attempt after them is limited. */
#define RT_AUTH_MAX_FAILURES 5
#define RT_AUTH_WINDOW_SECONDS (15 * 60)
/* A session's stored last_used is rewritten at most this often: a request
 * must not cost a disk write, and a minute is far below the idle limit. */
#define RT_AUTH_TOUCH_SECONDS 60

typedef struct rt_auth rt_auth;
typedef struct rt_user {
    char user[64];   /* login name: 1-63 chars of [a-z0-9._-] */
    char name[64];   /* display name ("Anna Kowalska"), 1-63 bytes */
    char role[8];    /* "admin" or "agent" */
    int capacity;    /* max open conversations (1-1000, default 10) */
} rt_user;

/* Loads accounts and sessions from records "user" and "session" of a store
 * the caller keeps open (and closes after rt_auth_free). Records that do not
 * parse are skipped, and so are sessions of accounts that no longer exist.
 * NULL when libsodium cannot start or memory runs out. Costs one argon2id
 * hash (the dummy that unknown users are checked against). */
rt_auth *rt_auth_new(rt_store *store);
void rt_auth_free(rt_auth *a);
int rt_auth_user_count(rt_auth *a);

/* Creates an account; false with a message (bad login name, role,
 * capacity, password under 8 chars or over 256, exists: message starts
 * with "exists"). Hash: crypto_pwhash_str with OPSLIMIT_INTERACTIVE /
 * MEMLIMIT_INTERACTIVE (argon2id).
 * Defaults, so that `flowd adduser` and FLOWD_ADMIN need give only a name:
 * an empty display name is the login name, an empty role is "agent" (the
 * least privilege), capacity 0 is 10. A login name must start with a
 * letter or digit: "." and ".." would be rewritten by browsers inside
 * /api/users/NAME. Password lengths count UTF-8 characters, not bytes.
 * The hash is computed outside the lock (~0.1 s), so other requests go on. */
bool rt_auth_add_user(rt_auth *a, const rt_user *u, const char *password, char *err, size_t errlen);

/* Edits name/role/capacity (fields of `changes` that are non-empty /
 * capacity > 0; `changes` may be NULL, changes->user is ignored: accounts
 * are not renamed) and, when password != NULL, the password. false with a
 * message (unknown user: message starts with "unknown"). A new password
 * ends every session of the account in the same commit, so whoever knew
 * the old one is out at once. */
bool rt_auth_update_user(rt_auth *a, const char *user, const rt_user *changes, const char *password, char *err,
                         size_t errlen);

/* Deletes an account and its sessions in one commit; false with a message
 * (unknown user: message starts with "unknown"). */
bool rt_auth_delete_user(rt_auth *a, const char *user, char *err, size_t errlen);

/* Copies an account into *out (may be NULL to ask only whether it exists). */
bool rt_auth_get_user(rt_auth *a, const char *user, rt_user *out);

/* Calls fn for every account in login-name order, until fn returns false.
 * fn runs on a copy taken under the lock, so it may call back into rt_auth. */
void rt_auth_each_user(rt_auth *a, bool (*fn)(void *ctx, const rt_user *u), void *ctx);

typedef enum rt_login_result { RT_LOGIN_OK, RT_LOGIN_WRONG, RT_LOGIN_LIMITED } rt_login_result;

/* Checks a password. More than 5 failures within 15 minutes for one
 * account OR from one address (addr is the client IP text) answers
 * RT_LOGIN_LIMITED (even with the right password) and *retry_after =
 * seconds until an attempt is allowed again. Precisely: 5 failures are
 * answered WRONG; the attempt after them (the would-be 6th failure) and
 * every later one is LIMITED until the oldest is 15 minutes old. Limited
 * attempts are not counted (an attacker cannot keep an account locked
 * beyond the window by trying on) and cost no hash. Attempts in flight
 * count against the limit, so parallel requests cannot slip more guesses
 * in. Unknown login names have counters too, so LIMITED does not tell
 * them apart from accounts. A success clears the account's failures but
 * not the address's: an attacker must not reset their address by logging
 * into an account of their own. addr NULL or "": no address limit.
 * On success fills *out, a fresh session token (64 hex chars of 32 random
 * bytes from randombytes_buf, into token[65]) and its CSRF token (csrf[65],
 * also random); otherwise token and csrf are "". Only the SHA-256 of the
 * token (crypto_hash_sha256 of its 64 characters, hex) is stored: record
 * kind "session", key = that hex, body {"user":..., "csrf":..., "created":
 * ..., "last_used":...}; if the store cannot take it the session still
 * works until a restart. Unknown users take the same time as wrong
 * passwords (verify against a dummy hash) so that timing does not reveal
 * which accounts exist. The hash check runs outside the lock. */
rt_login_result rt_auth_login(rt_auth *a, const char *user, const char *password, const char *addr, int64_t now,
                              rt_user *out, char token[65], char csrf[65], int *retry_after);

typedef enum rt_session_result { RT_SESSION_OK, RT_SESSION_NONE, RT_SESSION_EXPIRED } rt_session_result;

/* Looks a cookie token up: RT_SESSION_EXPIRED after 12 hours without use
 * (RT_AUTH_IDLE_SECONDS), RT_SESSION_NONE when unknown or malformed. On OK
 * fills *out (the account as it is now: a role change applies at once) and
 * csrf[65] and marks it used at `now` (the stored last_used is written at
 * most once a minute, not on every request). Sessions of a deleted or
 * changed-password user are gone. Expired sessions keep answering EXPIRED
 * (so every tab learns why) until rt_auth_sweep drops them. */
rt_session_result rt_auth_session(rt_auth *a, const char *token, int64_t now, rt_user *out, char csrf[65]);

/* Ends a session (memory and store); unknown or malformed tokens are ignored. */
void rt_auth_logout(rt_auth *a, const char *token);

/* Drops sessions idle for a day past expiry and login counters older than
 * the window, so neither grows without bound. rt_auth_login calls it; a
 * server may also call it from a periodic timer. */
void rt_auth_sweep(rt_auth *a, int64_t now);

/* Constant-time comparison of the X-CSRF-Token header with the session's
 * csrf (false for NULL/empty), so response timing does not reveal how much
 * of a guess was right. */
bool rt_auth_csrf_ok(const char *expected, const char *given);

/* FLOWD_ADMIN=name:password (the password is everything after the first
 * colon): creates that admin when no account exists yet; true when one was
 * created. A malformed spec is reported (false, message) even when accounts
 * exist, so a typo does not go unnoticed; false with err "" means nothing
 * to do (spec NULL/empty, or accounts exist). */
bool rt_auth_bootstrap(rt_auth *a, const char *spec, char *err, size_t errlen);

#endif
