/* db.h - the one query, on one persistent connection (libpq behind it). */
#ifndef CS_DB_H
#define CS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text.h"

struct db_cfg {
	const char	*conninfo;		/* libpq conninfo or URI */
	int		 connect_timeout;	/* seconds */
	int		 statement_timeout_ms;
	bool		 prepare;	/* named prepared statement; off for
					 * PgBouncer in transaction mode */
	bool		 listen;	/* LISTEN for the cache's change
					 * notifications where they can arrive */
};

/* Whether change notifications (sql/006-notify.sql) reach this worker. */
enum db_notify {
	DBN_UNKNOWN,		/* not connected (yet, or any more) */
	DBN_LISTENING,		/* LISTEN holds on a direct connection */
	DBN_OFF,		/* not asked for (db_cfg.listen false) */
	DBN_POOLER,		/* a pooler (PgBouncer) sits in between */
	DBN_STANDBY,		/* a hot standby: no LISTEN, no notifications */
	DBN_REFUSED,		/* LISTEN failed for another reason */
	DBN_NO_TRIGGERS,	/* sql/006-notify.sql not applied (or disabled) */
	DBN__MAX
};

enum db_status {
	DB_OK,
	DB_NOT_FOUND,		/* no course with that id */
	DB_UNAVAILABLE,		/* cannot connect, or the connection broke */
	DB_TIMEOUT,		/* statement_timeout cut the query off */
	DB_SCHEMA,		/* table, column or privilege missing */
	DB_ERROR,		/* anything else */
	DB__MAX
};

/* One course row and the authorization verdict for the asking user. */
struct db_row {
	char		 id[UUID_STRLEN + 1];
	char		 owner[UUID_STRLEN + 1];
	char		 org[UUID_STRLEN + 1];
	bool		 has_org;
	bool		 allowed;	/* owner, or member of the course's org */
	bool		 status_null;
	const char	*status;	/* generation_status as text */
	const char	*meta;		/* generation_metadata as JSON, or NULL */
	size_t		 meta_len;
	int64_t		 created_ms;	/* epoch milliseconds */
	int64_t		 updated_ms;
	int64_t		 now_ms;	/* the database's clock */
	void		*res;		/* owns the strings above */
};

struct db;

/* A handle; no connection is made until the first query. NULL on ENOMEM. */
struct db *db_new(const struct db_cfg *);
void	 db_free(struct db *);
/*
 * Fetch course `course_id` for `user_id` (both canonical UUIDs) in one
 * round trip. On DB_OK the row's strings live until db_row_release().
 * A broken connection is re-opened, and the query retried once.
 */
enum db_status db_fetch(struct db *, const char *course_id,
	    const char *user_id, struct db_row *row);
void	 db_row_release(struct db_row *);
/* One cheap round trip (an empty query), reconnecting if needed: DB_OK
 * when the database answers. For health checks. */
enum db_status db_ping(struct db *);
/*
 * Connect and prepare the statement now (for --check-config). On failure
 * writes a description without secrets into err.
 */
enum db_status db_check(struct db *, char *err, size_t errlen);
/*
 * Change notifications. db_notify_mode() says whether they arrive on the
 * current connection; db_epoch() changes whenever a connection is opened
 * or lost (notifications may have been missed: a cache must flush).
 * db_drain() reads what the server has sent, without waiting, and passes
 * each payload of the channel to fn; a broken connection is closed.
 */
enum db_notify db_notify_mode(const struct db *);
const char *db_notify_name(enum db_notify);
unsigned db_epoch(const struct db *);
void	 db_drain(struct db *, void (*fn)(void *, const char *), void *arg);
/* The channel of sql/006-notify.sql. */
#define DB_NOTIFY_CHANNEL "coursegen_status"
/* The query text, for EXPLAIN in the tests and the README. */
extern const char db_status_query[];

#endif
