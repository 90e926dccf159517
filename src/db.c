/*
 * db.c - the only module that includes libpq. One connection per worker
 * process, opened lazily (so after fork), with a prepared statement that
 * returns the course and the authorization verdict in one round trip.
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "db.h"
#include "intparse.h"
#include "log.h"
#include "metrics.h"
#include "uuid.h"

#define STMT_NAME "coursegen_status"

const char db_status_query[] =
	"SELECT c.id::text, c.user_id::text, c.organization_id::text,"
	" (c.user_id = $2::uuid OR EXISTS (SELECT 1 FROM user_organizations uo"
	"   WHERE uo.user_id = $2::uuid"
	"   AND uo.organization_id = c.organization_id)),"
	" c.generation_status::text, c.generation_metadata::text,"
	" floor(extract(epoch FROM c.created_at) * 1000)::int8,"
	" floor(extract(epoch FROM c.updated_at) * 1000)::int8,"
	" floor(extract(epoch FROM now()) * 1000)::int8"
	" FROM courses c WHERE c.id = $1::uuid";

enum col {
	COL_ID, COL_OWNER, COL_ORG, COL_ALLOWED, COL_STATUS, COL_META,
	COL_CREATED, COL_UPDATED, COL_NOW, COL__MAX
};

struct db {
	struct db_cfg	 cfg;
	PGconn		*conn;
	bool		 prepared;
	bool		 down_logged;	/* log an outage once, not per call */
	bool		 connected_once;	/* later connects are reconnects */
	bool		 multi_host;	/* conninfo names several hosts */
	bool		 schema_logged;
	enum db_notify	 notify;	/* on the current connection */
	enum db_notify	 notify_logged;	/* the last mode logged */
	unsigned	 epoch;		/* connections opened and lost */
};

struct db *
db_new(const struct db_cfg *cfg)
{
	struct db		*db;
	PQconninfoOption	*opts, *o;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->cfg = *cfg;
	/* Parsed, not searched: a comma may appear in a password. */
	if ((opts = PQconninfoParse(cfg->conninfo, NULL)) != NULL) {
		for (o = opts; o->keyword != NULL; o++)
			if ((strcmp(o->keyword, "host") == 0 ||
			    strcmp(o->keyword, "hostaddr") == 0) &&
			    o->val != NULL && strchr(o->val, ',') != NULL)
				db->multi_host = true;
		PQconninfoFree(opts);
	}
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db);
}

static void
db_disconnect(struct db *db)
{
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->epoch++;
	}
	db->conn = NULL;
	db->prepared = false;
	db->notify = DBN_UNKNOWN;
}

/* First line of a libpq message, without the trailing newline. */
static void
first_line(const char *msg, char *out, size_t outsz)
{
	size_t n;

	if (msg == NULL)
		msg = "";
	/* libpq's "ERROR:  " / "FATAL:  " severity prefix says nothing. */
	if (strncmp(msg, "ERROR:  ", 8) == 0 || strncmp(msg, "FATAL:  ", 8) == 0)
		msg += 8;
	n = strcspn(msg, "\n");
	log_escape(msg, n, out, outsz);
}

static enum db_status
classify(const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (st == NULL)
		return DB_UNAVAILABLE;	/* no server answer: the link broke */
	if (strcmp(st, "57014") == 0)
		return DB_TIMEOUT;
	if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
	    strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0)
		return DB_UNAVAILABLE;
	if (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0 ||
	    strcmp(st, "42501") == 0 || strcmp(st, "42883") == 0 ||
	    strcmp(st, "42704") == 0)
		return DB_SCHEMA;
	return DB_ERROR;
}

/*
 * Where notifications can arrive, LISTEN on the new connection (before
 * anything is read through it, so no change after the first read can be
 * missed). A pooler shows as a backend pid different from the one in the
 * connection's key data (PgBouncer makes up its own): a transaction-mode
 * pooler cannot carry LISTEN, so any pooler gets the TTL mode. A hot
 * standby refuses LISTEN. The mode is logged when it changes.
 */
static enum db_status
db_listen(struct db *db, char *err, size_t errlen)
{
	PGresult	*res;
	enum db_status	 st = DB_OK;
	long long	 pid;

	if (!db->cfg.listen) {
		db->notify = DBN_OFF;
		return DB_OK;
	}
	/*
	 * The third column: are the eight triggers of sql/006-notify.sql (four
	 * per table) there and enabled? Without them nothing would ever
	 * invalidate an entry, so the cache must not be exact.
	 */
	res = PQexec(db->conn, "SELECT pg_catalog.pg_backend_pid(), "
	    "pg_catalog.pg_is_in_recovery(), "
	    "(SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger "
	    "WHERE tgrelid IN (pg_catalog.to_regclass('public.courses'), "
	    "pg_catalog.to_regclass('public.user_organizations')) "
	    "AND tgname LIKE 'coursegen\\_notify\\_%' AND tgenabled <> 'D') = 8");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) != 3) {
		st = classify(res);
		first_line(PQresultErrorMessage(res), err, errlen);
		PQclear(res);
		return st == DB_UNAVAILABLE ? st : DB_ERROR;
	}
	if (!parse_int_range(PQgetvalue(res, 0, 0), 0, INT32_MAX, &pid) ||
	    pid != PQbackendPID(db->conn))
		db->notify = DBN_POOLER;
	else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		db->notify = DBN_STANDBY;
	else if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
		db->notify = DBN_NO_TRIGGERS;
	PQclear(res);
	if (db->notify == DBN_UNKNOWN) {
		res = PQexec(db->conn, "LISTEN " DB_NOTIFY_CHANNEL);
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			db->notify = DBN_LISTENING;
		else if ((st = classify(res)) == DB_UNAVAILABLE) {
			first_line(PQresultErrorMessage(res), err, errlen);
			PQclear(res);
			return st;
		} else {
			/* 25006: read-only (recovery began meanwhile). */
			const char *code = PQresultErrorField(res,
			    PG_DIAG_SQLSTATE);

			db->notify = code != NULL && strcmp(code, "25006") == 0 ?
			    DBN_STANDBY : DBN_REFUSED;
		}
		PQclear(res);
	}
	if (db->notify != db->notify_logged) {
		if (db->notify == DBN_LISTENING)
			log_msg(LOG_LVL_INFO, "status cache: exact (change "
			    "notifications on channel " DB_NOTIFY_CHANNEL ")");
		else
			log_msg(LOG_LVL_WARN, "status cache: no change "
			    "notifications (%s): entries expire after "
			    "CACHE_TTL_MS instead", db_notify_name(db->notify));
		db->notify_logged = db->notify;
	}
	return DB_OK;
}

enum db_notify
db_notify_mode(const struct db *db)
{
	return db->conn != NULL ? db->notify : DBN_UNKNOWN;
}

const char *
db_notify_name(enum db_notify n)
{
	static const char *const names[DBN__MAX] = {
		"not connected", "listening", "off",
		"a connection pooler is in between",
		"a hot standby", "LISTEN refused",
		"the triggers of sql/006-notify.sql are missing",
	};

	return n < DBN__MAX ? names[n] : "?";
}

unsigned
db_epoch(const struct db *db)
{
	return db->epoch;
}

void
db_drain(struct db *db, void (*fn)(void *, const char *), void *arg)
{
	struct pollfd	 pfd;
	PGnotify	*n;
	int		 rounds;

	if (db->conn == NULL || db->notify != DBN_LISTENING)
		return;
	/*
	 * One poll when nothing came (the common case). Else read until the
	 * socket is empty: a terminated backend sends its FATAL message and
	 * then closes, and the close is what must be seen now.
	 */
	pfd.fd = PQsocket(db->conn);
	pfd.events = POLLIN;
	for (rounds = 0; rounds < 64; rounds++) {
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0)
			break;
		if (PQconsumeInput(db->conn) == 0 ||
		    PQstatus(db->conn) != CONNECTION_OK) {
			char msg[256];

			first_line(PQerrorMessage(db->conn), msg, sizeof(msg));
			log_msg(LOG_LVL_WARN, "database connection lost while "
			    "idle (%s)", msg);
			db_disconnect(db);
			return;
		}
		while ((n = PQnotifies(db->conn)) != NULL) {
			if (strcmp(n->relname, DB_NOTIFY_CHANNEL) == 0)
				fn(arg, n->extra);
			PQfreemem(n);
		}
	}
	/* Notifications libpq read along with a query's result. */
	while ((n = PQnotifies(db->conn)) != NULL) {
		if (strcmp(n->relname, DB_NOTIFY_CHANNEL) == 0)
			fn(arg, n->extra);
		PQfreemem(n);
	}
}

/* Connect and prepare; err gets a description on failure. */
static enum db_status
db_connect(struct db *db, char *err, size_t errlen)
{
	const char	*keys[] = { "connect_timeout",
	    "fallback_application_name", "dbname", NULL };
	const char	*vals[4];
	char		 ct[16], sql[64];
	PGresult	*res;
	enum db_status	 st;

	snprintf(ct, sizeof(ct), "%d", db->cfg.connect_timeout);
	vals[0] = ct;
	vals[1] = "coursegen-status";
	vals[2] = db->cfg.conninfo;
	vals[3] = NULL;
	/* conninfo is expanded in place, after connect_timeout, so a value
	 * given in the connection string wins over the default. */
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL) {
		snprintf(err, errlen, "out of memory");
		return DB_UNAVAILABLE;
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		first_line(PQerrorMessage(db->conn), err, errlen);
		db_disconnect(db);
		return DB_UNAVAILABLE;
	}
	/* A session setting, on this worker's own connection only: behind a
	 * transaction-mode pooler (no named statement) it would stay on a
	 * server connection other clients share, so there the timeout goes
	 * with each statement instead (exec_status). */
	if (db->cfg.prepare) {
		snprintf(sql, sizeof(sql), "SET statement_timeout = %d",
		    db->cfg.statement_timeout_ms);
		res = PQexec(db->conn, sql);
		st = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK :
		    classify(res);
		if (st != DB_OK)
			first_line(PQresultErrorMessage(res), err, errlen);
		PQclear(res);
		if (st != DB_OK) {
			db_disconnect(db);
			return st;
		}
	}
	/* Without a named statement (a transaction-mode pooler may hand the
	 * next query to another server connection), the query is still
	 * described once here so a schema that does not fit shows now. */
	if (db->cfg.prepare)
		res = PQprepare(db->conn, STMT_NAME, db_status_query, 2, NULL);
	else
		res = PQprepare(db->conn, "", db_status_query, 2, NULL);
	st = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK : classify(res);
	if (st != DB_OK) {
		first_line(PQresultErrorMessage(res), err, errlen);
		if (st == DB_ERROR)
			st = DB_SCHEMA;	/* the query does not fit the schema */
	}
	PQclear(res);
	if (st != DB_OK) {
		db_disconnect(db);
		return st;
	}
	if ((st = db_listen(db, err, errlen)) != DB_OK) {
		db_disconnect(db);
		return st;
	}
	db->epoch++;
	db->prepared = true;
	return DB_OK;
}

static enum db_status
db_ensure(struct db *db)
{
	char		 err[256];
	enum db_status	 st;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK &&
	    db->prepared)
		return DB_OK;
	db_disconnect(db);
	st = db_connect(db, err, sizeof(err));
	/*
	 * With several hosts, libpq moves on when a host cannot be reached,
	 * but not when one answers "the database system is shutting down"
	 * (a standby being stopped): a second attempt a moment later finds
	 * it gone and carries on with the next host.
	 */
	if (st == DB_UNAVAILABLE && db->multi_host) {
		struct timespec pause = { 0, 50 * 1000 * 1000 };

		nanosleep(&pause, NULL);
		st = db_connect(db, err, sizeof(err));
	}
	if (st == DB_OK) {
		if (db->connected_once)
			metrics_db_reconnect();
		db->connected_once = true;
		if (db->down_logged)
			log_msg(LOG_LVL_INFO, "database connection restored");
		db->down_logged = false;
		return DB_OK;
	}
	if (st == DB_SCHEMA) {
		if (!db->schema_logged)
			log_msg(LOG_LVL_ERROR, "database schema does not fit "
			    "the status query (are the migrations in sql/ "
			    "applied?): %s", err);
		db->schema_logged = true;
	} else if (!db->down_logged) {
		log_msg(LOG_LVL_ERROR, "database unavailable: %s", err);
		db->down_logged = true;
	}
	return st;
}

enum db_status
db_check(struct db *db, char *err, size_t errlen)
{
	enum db_status	 st;
	char		 why[256];

	db_disconnect(db);
	if ((st = db_connect(db, why, sizeof(why))) == DB_SCHEMA)
		snprintf(err, errlen, "the schema does not fit the status query "
		    "(are the migrations in sql/ applied, and the grants of "
		    "sql/003-role.sql?): %s", why);
	else if (st != DB_OK)
		snprintf(err, errlen, "%s", why);
	return st;
}

static bool
get_ms(const PGresult *res, int col, int64_t *out)
{
	long long v;

	if (PQgetisnull(res, 0, col))
		return false;
	if (!parse_int_range(PQgetvalue(res, 0, col), INT64_MIN, INT64_MAX, &v))
		return false;
	*out = v;
	return true;
}

static enum db_status
fill_row(PGresult *res, struct db_row *row)
{
	const char *org;

	if (PQntuples(res) == 0)
		return DB_NOT_FOUND;
	if (PQnfields(res) != COL__MAX ||
	    !uuid_canon(PQgetvalue(res, 0, COL_ID), UUID_STRLEN, row->id) ||
	    !uuid_canon(PQgetvalue(res, 0, COL_OWNER), UUID_STRLEN,
	    row->owner) ||
	    !get_ms(res, COL_CREATED, &row->created_ms) ||
	    !get_ms(res, COL_UPDATED, &row->updated_ms) ||
	    !get_ms(res, COL_NOW, &row->now_ms))
		return DB_ERROR;
	row->has_org = !PQgetisnull(res, 0, COL_ORG);
	org = PQgetvalue(res, 0, COL_ORG);
	if (row->has_org && !uuid_canon(org, strlen(org), row->org))
		return DB_ERROR;
	row->allowed = strcmp(PQgetvalue(res, 0, COL_ALLOWED), "t") == 0;
	row->status_null = PQgetisnull(res, 0, COL_STATUS);
	row->status = PQgetvalue(res, 0, COL_STATUS);
	if (PQgetisnull(res, 0, COL_META)) {
		row->meta = NULL;
		row->meta_len = 0;
	} else {
		row->meta = PQgetvalue(res, 0, COL_META);
		row->meta_len = (size_t)PQgetlength(res, 0, COL_META);
	}
	row->res = res;
	return DB_OK;
}

/*
 * Run the status query. Without a named statement (PgBouncer in
 * transaction mode) each statement may land on another server connection,
 * so the timeout is set for the query's own transaction: set_config(...,
 * true) and the query are sent together in one pipeline ending in one
 * Sync, which is one transaction, held on one server connection by the
 * pooler and ended before the next client gets it. Still one round trip.
 * Returns the query's result (NULL only without memory).
 */
static PGresult *
exec_status(struct db *db, const char *const params[2])
{
	static const char set[] =
	    "SELECT set_config('statement_timeout', $1, true)";
	PGresult	*r, *out = NULL;
	char		 ms[24];
	const char	*p[1] = { ms };
	int		 n = 0, nulls;

	if (db->cfg.prepare)
		return PQexecPrepared(db->conn, STMT_NAME, 2, params, NULL,
		    NULL, 0);
	snprintf(ms, sizeof(ms), "%d", db->cfg.statement_timeout_ms);
	if (PQenterPipelineMode(db->conn) != 1 ||
	    PQsendQueryParams(db->conn, set, 1, NULL, p, NULL, NULL, 0) != 1 ||
	    PQsendQueryParams(db->conn, db_status_query, 2, NULL, params,
	    NULL, NULL, 0) != 1 || PQpipelineSync(db->conn) != 1) {
		/* A broken connection: the caller reconnects. */
		r = PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
		db_disconnect(db);
		return r;
	}
	/* Results: set_config's, NULL, the query's, NULL, the Sync. An error
	 * in the first makes the second PGRES_PIPELINE_ABORTED: keep the
	 * error. Two NULLs in a row only come from a broken connection. */
	for (nulls = 0; nulls < 2;) {
		if ((r = PQgetResult(db->conn)) == NULL) {
			nulls++;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (n++ == 0 && PQresultStatus(r) == PGRES_TUPLES_OK)
			PQclear(r);
		else if (out == NULL)
			out = r;
		else
			PQclear(r);
	}
	if (PQexitPipelineMode(db->conn) != 1) {
		/* Results left unread: the connection cannot be used again. */
		if (out == NULL)
			out = PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
		db_disconnect(db);
		return out;
	}
	if (out == NULL)
		out = PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
	return out;
}

static enum db_status
fetch(struct db *db, const char *course_id, const char *user_id,
    struct db_row *row)
{
	const char	*params[2] = { course_id, user_id };
	PGresult	*res;
	enum db_status	 st;
	int		 attempt;
	char		 msg[256];

	memset(row, 0, sizeof(*row));
	for (attempt = 0; attempt < 2; attempt++) {
		if ((st = db_ensure(db)) != DB_OK)
			return st;
		res = exec_status(db, params);
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			/* The schema works again: a new break is news. */
			db->schema_logged = false;
			st = fill_row(res, row);
			if (st != DB_OK) {
				PQclear(res);
				row->res = NULL;
				if (st == DB_ERROR)
					log_msg(LOG_LVL_ERROR, "unexpected row "
					    "shape from the status query");
			}
			return st;
		}
		st = classify(res);
		first_line(PQresultErrorMessage(res), msg, sizeof(msg));
		PQclear(res);
		if (PQstatus(db->conn) == CONNECTION_BAD ||
		    st == DB_UNAVAILABLE) {
			/* The connection broke (server restart, network):
			 * the query only reads, so one retry is safe. */
			db_disconnect(db);
			if (!db->down_logged)
				log_msg(LOG_LVL_WARN, "database connection "
				    "lost (%s), reconnecting", msg);
			st = DB_UNAVAILABLE;
			continue;
		}
		if (st == DB_SCHEMA) {
			if (!db->schema_logged)
				log_msg(LOG_LVL_ERROR, "status query failed: "
				    "%s", msg);
			db->schema_logged = true;
		} else if (st == DB_TIMEOUT)
			log_msg(LOG_LVL_WARN, "status query timed out");
		else
			log_msg(LOG_LVL_ERROR, "status query failed: %s", msg);
		return st;
	}
	return st;
}

enum db_status
db_fetch(struct db *db, const char *course_id, const char *user_id,
    struct db_row *row)
{
	enum db_status st = fetch(db, course_id, user_id, row);

	switch (st) {
	case DB_OK:
	case DB_NOT_FOUND:
		break;
	case DB_UNAVAILABLE:
		metrics_db_error(MDB_UNAVAILABLE);
		break;
	case DB_TIMEOUT:
		metrics_db_error(MDB_TIMEOUT);
		break;
	case DB_SCHEMA:
		metrics_db_error(MDB_SCHEMA);
		break;
	default:
		metrics_db_error(MDB_OTHER);
		break;
	}
	return st;
}

enum db_status
db_ping(struct db *db)
{
	PGresult	*res;
	enum db_status	 st;
	int		 attempt;

	/* An empty query is one round trip and touches no table. */
	for (attempt = 0; attempt < 2; attempt++) {
		if ((st = db_ensure(db)) != DB_OK)
			return st;
		res = PQexec(db->conn, "");
		st = PQresultStatus(res) == PGRES_EMPTY_QUERY ? DB_OK :
		    DB_UNAVAILABLE;
		PQclear(res);
		if (st == DB_OK)
			return st;
		db_disconnect(db);
	}
	return st;
}

void
db_row_release(struct db_row *row)
{
	if (row->res != NULL)
		PQclear(row->res);
	row->res = NULL;
}
